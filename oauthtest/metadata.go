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

	// Keys, certificates and DPoP (RFC 8414 §2, RFC 8705 §3.3, RFC 9449 §5.1).
	AuthSigningAlgs  []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	DPoPSigningAlgs  []string `json:"dpop_signing_alg_values_supported"`
	CertificateBound bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

// signingAlgs are the JWS algorithms the server verifies, in client
// assertions and DPoP proofs.
var signingAlgs = []string{"RS256", "ES256", "EdDSA"}

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
	s.mu.Lock()
	keys := len(s.cfg.keys.keys) > 0
	s.mu.Unlock()
	var authAlgs []string
	if keys {
		methods = append(methods, "private_key_jwt")
		authAlgs = signingAlgs
	}
	tls := s.Certificate() != nil
	if tls {
		methods = append(methods, "tls_client_auth", "self_signed_tls_client_auth")
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
		AuthSigningAlgs:               authAlgs,
		DPoPSigningAlgs:               signingAlgs,
		CertificateBound:              tls,
	})
}
