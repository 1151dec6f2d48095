package events

// Event is a fact recorded in the log.
type Event interface {
	// EventName returns the stable wire name stored in the record's
	// metadata. Changing it orphans every stored record of the type.
	EventName() string
	// SchemaVersion returns the version of the payload layout.
	SchemaVersion() int
}
