// Package oas holds the server and client that ogen generates from
// openapi.yaml. Nothing in it is written by hand except this file.
package oas

//go:generate go tool ogen --target . --package oas --clean ../../openapi.yaml
