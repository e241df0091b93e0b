package oauthtest

import "net/http"

// metadata is the authorization server metadata (RFC 8414 §2).
type metadata struct {
	Issuer                        string   `json:"issuer"`
	TokenEndpoint                 string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint   string   `json:"device_authorization_endpoint"`
	RevocationEndpoint            string   `json:"revocation_endpoint"`
	IntrospectionEndpoint         string   `json:"introspection_endpoint"`
	GrantTypesSupported           []string `json:"grant_types_supported"`
	ResponseTypesSupported        []string `json:"response_types_supported"`
	TokenEndpointAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethods      []string `json:"introspection_endpoint_auth_methods_supported"`
}

// serveMetadata serves the metadata at both well-known paths. There is no
// authorization endpoint, so response_types_supported, which RFC 8414
// requires, is empty.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	style := s.cfg.authStyle
	s.mu.Unlock()
	methods := []string{"client_secret_basic", "client_secret_post", "none"}
	switch style {
	case AuthStyleBasic:
		methods = []string{"client_secret_basic", "none"}
	case AuthStylePost:
		methods = []string{"client_secret_post", "none"}
	}
	writeJSON(w, http.StatusOK, metadata{
		Issuer:                        s.URL,
		TokenEndpoint:                 s.TokenURL(),
		DeviceAuthorizationEndpoint:   s.DeviceAuthorizationURL(),
		RevocationEndpoint:            s.RevocationURL(),
		IntrospectionEndpoint:         s.IntrospectionURL(),
		GrantTypesSupported:           []string{grantClientCredentials, grantRefreshToken, grantDeviceCode},
		ResponseTypesSupported:        []string{},
		TokenEndpointAuthMethods:      methods,
		RevocationEndpointAuthMethods: methods,
		IntrospectionAuthMethods:      methods,
	})
}
