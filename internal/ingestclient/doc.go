// Package ingestclient sends NDJSON files of events to the EventPulse batch
// endpoint (POST /api/v1/events/batch). It is the logic behind
// `eventpulse ingest`.
//
// Each non-blank line of an input file is one event object. The client sends
// the line's bytes unchanged inside a JSON array, so large integers and
// unicode reach the server exactly as written. Lines that are not JSON
// objects are rejected locally. Items that the server rejects with a 400 are
// reported with their file and line, and the rest of their batch is resent.
package ingestclient
