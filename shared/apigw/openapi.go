package apigw

import _ "embed"

// OpenAPI is the API's contract (openapi.yaml), kept beside the routes it
// documents; a test holds the two together, and the local stack serves it.
//
//go:embed openapi.yaml
var OpenAPI []byte
