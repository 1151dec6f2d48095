// Package migrations embeds the SQL migrations that `eventpulse migrate`
// applies with goose. Files are numbered; each has an Up and a Down section.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
