package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/tokenactor/tokenactor/httpauth"
)

// BenchmarkRoundTrip measures what the transport adds to a request: the
// origin check, the token lookup, the clone and the header. The base
// transport answers from memory.
func BenchmarkRoundTrip(b *testing.B) {
	ok := &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}
	base := roundTripFunc(func(*http.Request) (*http.Response, error) { return ok, nil })
	for _, bb := range []struct {
		name string
		tr   http.RoundTripper
	}{
		{name: "base", tr: base},
		{name: "httpauth", tr: &httpauth.Transport{Strategy: fixed("tok"), Origins: []string{"https://api.example.com"}, Base: base}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1/things", nil)
				for pb.Next() {
					if _, err := bb.tr.RoundTrip(req); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
