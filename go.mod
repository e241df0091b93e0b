module github.com/tokenactor/tokenactor

go 1.25.0

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/google/go-cmp v0.7.0
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.36.0
)

require github.com/stretchr/testify v1.11.1 // indirect
