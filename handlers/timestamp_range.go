package handlers

import "time"

// The first and last instants that a response may print, in UTC. RFC 3339
// writes four-digit years, so nothing after year 9999 can be written.
// Year 0000 is left out as well, because common date types such as
// Python's datetime and .NET's DateTime start at year 1.
var (
	timestampMin = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	timestampMax = time.Date(9999, time.December, 31, 23, 59, 59, 999_999_999, time.UTC)
)
