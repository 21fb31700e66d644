module github.com/authgate/authgate

go 1.26

require (
	github.com/aws/aws-lambda-go v1.55.1 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	github.com/tidwall/gjson v1.20.1 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.44.0 // indirect
)
