// Package handlers serves the HTTP API: the ogen-generated server for reads
// and health, and hand-written handlers for the two ingestion endpoints,
// whose bodies are decoded by package ingest so that each problem is
// reported with the exact path of the failing field.
package handlers
