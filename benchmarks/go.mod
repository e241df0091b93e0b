module github.com/tokenactor/tokenactor/benchmarks

go 1.26.0

replace github.com/tokenactor/tokenactor => ../

require (
	cloud.google.com/go/auth v0.24.4
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/google/go-cmp v0.7.0
	github.com/maypok86/otter/v2 v2.4.0
	github.com/tokenactor/tokenactor v0.0.0
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.38.0
)

require (
	cloud.google.com/go/compute/metadata v0.10.0 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
	github.com/benbjohnson/clock v1.3.5 // indirect
	github.com/googleapis/gax-go/v2 v2.27.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
