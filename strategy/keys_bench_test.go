package strategy_test

import (
	"net/url"
	"testing"

	"github.com/tokenactor/tokenactor"
	"github.com/tokenactor/tokenactor/strategy"
)

// The cost of one DPoP proof, which httpauth signs for every request with
// a DPoP token, per key kind. A client assertion costs the same signature
// once per token request.
func BenchmarkDPoPProof(b *testing.B) {
	u, _ := url.Parse("https://api.example.com/orders?page=2")
	tok := tokenactor.NewSecretToken("at-0123456789abcdef0123456789abcdef")
	for alg, key := range testKeys() {
		b.Run(alg, func(b *testing.B) {
			s, err := strategy.NewAccessKey(strategy.AccessKeyConfig{
				TokenURL: "https://as.example/token", ClientID: "svc", ClientSecret: "x", DPoPKey: key,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.DPoPProof("GET", u, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
