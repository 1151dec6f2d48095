// Package ingest decodes and validates the events that clients send, and
// groups single events that arrive together into one command.
//
// Decoding is hand-written on top of jx so that every problem is reported
// with the exact path of the failing field, payloads are kept byte for byte
// as sent, and values PostgreSQL cannot store are rejected before the API
// answers 202.
package ingest
