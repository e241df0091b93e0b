package strategy

import "errors"

// endpointName is what errors call an endpoint: name, or "token" when
// empty.
func endpointName(name string) string {
	if name == "" {
		return "token"
	}
	return name
}

// named sets the Endpoint of the endpoint error in err's chain to the
// endpoint's name, so a refusal of the device authorization endpoint does
// not read as one of the token endpoint. It returns err.
func (e *endpoint) named(err error) error {
	if err == nil || e.name == "" {
		return err
	}
	var (
		oe *OAuthError
		he *HTTPError
		ie *InvalidResponseError
		ne *NetworkError
	)
	switch {
	case errors.As(err, &oe):
		oe.Endpoint = e.name
	case errors.As(err, &he):
		he.Endpoint = e.name
	case errors.As(err, &ie):
		ie.Endpoint = e.name
	case errors.As(err, &ne):
		ne.Endpoint = e.name
	}
	return err
}
