package ingest

// IgnoredField is a top-level member of a batch item that is not a field of
// an event. Decoding skips it and accepts the event without it.
type IgnoredField struct {
	// Index is the item's index in the batch.
	Index int
	// Field is the member's name as sent.
	Field string
}

// uniqueNames returns names without repeats, in the order of their first
// occurrence, reusing the array of names. It allocates a map only for two
// or more names, so an event without ignored members costs nothing here.
func uniqueNames(names []string) []string {
	if len(names) < 2 {
		return names
	}

	seen := make(map[string]struct{}, len(names))
	unique := names[:0]

	for _, name := range names {
		if _, ok := seen[name]; ok {
			continue
		}

		seen[name] = struct{}{}
		unique = append(unique, name)
	}

	return unique
}
