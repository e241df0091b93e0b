package oauthtest

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
)

// An oauthError is an error response of RFC 6749 §5.2.
type oauthError struct {
	status int
	code   string // the error parameter
	desc   string // error_description: never holds a secret
	// basic asks the client for HTTP Basic credentials (§5.2 for a 401).
	basic bool
}

func (e *oauthError) write(w http.ResponseWriter) {
	if e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauthtest"`)
	}
	writeJSON(w, e.status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{e.code, e.desc})
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: desc}
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", desc: desc}
}

func invalidClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: desc, basic: true}
}

// writeJSON writes v as the JSON body of a response with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "oauthtest: encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// parseForm reads a POST body of at most maxBody bytes into r.PostForm and
// checks what RFC 6749 asks of it: the form media type (§4.4.2 and
// appendix B) and no parameter given twice (§3.1, §3.2).
func parseForm(w http.ResponseWriter, r *http.Request) *oauthError {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err := r.ParseForm(); err != nil {
		if r.PostForm == nil {
			r.PostForm = make(map[string][]string)
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: "request body larger than 64 KiB"}
		}
		return invalidRequest("malformed form body")
	}
	if mt != "application/x-www-form-urlencoded" {
		return invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return invalidRequest("parameter " + k + " given more than once")
		}
	}
	return nil
}
