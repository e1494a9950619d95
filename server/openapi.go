package server

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3 description, served at /openapi.json and
// rendered in docs/api.md; TestOpenAPIRoutes keeps it true to the routes.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3 description (JSON).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(openAPI)
	return nil
}
