// Package commands holds the commands that travel over the Redis command
// bus and the handlers that turn them into records in the event log. One
// file per command: the command struct, its handler and the constructor.
package commands
