// Package projections holds one package per read model built from the event
// log. Every read table can be dropped and rebuilt from the log.
package projections
