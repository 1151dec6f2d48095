package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
)

// Metadata keys of every log record.
const (
	MetaName          = "name"
	MetaSchemaVersion = "schema_version"
	MetaCorrelationID = "correlation_id"
	MetaCausationID   = "causation_id"
	MetaActor         = "actor"
	MetaRecordedAt    = "recorded_at"
	// MetaStreamID and MetaStreamVersion place a record in an aggregate's
	// stream (a rule's id and version); records without them belong to no
	// aggregate.
	MetaStreamID      = "stream_id"
	MetaStreamVersion = "stream_version"
)

// ActorAnonymous is the actor of commands sent without an API key.
const ActorAnonymous = "anonymous"

// ErrUnknownEvent is returned by Decode for a record whose name or version
// this build does not know.
var ErrUnknownEvent = errors.New("unknown event")

// Envelope carries the context a record is written with.
type Envelope struct {
	// CorrelationID ties together everything caused by one request.
	CorrelationID string
	// CausationID is the id of the command or record that caused this one.
	CausationID string
	// Actor is the API key id behind the change, or ActorAnonymous.
	Actor string
	// RecordedAt is when the record was written.
	RecordedAt time.Time
	// StreamID and StreamVersion place the record in an aggregate's
	// stream; both are empty for records outside any aggregate.
	StreamID      string
	StreamVersion int
}

// NewMessage encodes event as a log record with the envelope in its metadata.
func NewMessage(event Event, env Envelope) (*message.Message, error) {
	var payload []byte
	var err error
	if ingested, ok := event.(EventsIngested); ok {
		payload, err = ingested.appendJSON()
	} else {
		payload, err = json.Marshal(event)
	}
	if err != nil {
		return nil, fmt.Errorf("error encoding event %q: %w", event.EventName(), err)
	}

	return newMessage(event, payload, env), nil
}

// NewEventsIngestedMessage returns the EventsIngested record whose events
// are rawEvents, a JSON array of event objects as AppendIngestedEvent
// writes them. It copies rawEvents. Events that arrived encoded, such as
// those of an ingest command, then need no decoding and encoding again.
func NewEventsIngestedMessage(rawEvents []byte, env Envelope) *message.Message {
	const prefix, suffix = `{"events":`, `}`
	payload := make([]byte, 0, len(prefix)+len(rawEvents)+len(suffix))
	payload = append(payload, prefix...)
	payload = append(payload, rawEvents...)
	payload = append(payload, suffix...)

	return newMessage(EventsIngested{}, payload, env)
}

func newMessage(event Event, payload []byte, env Envelope) *message.Message {
	msg := message.NewMessage(uuid.NewString(), payload)
	msg.Metadata.Set(MetaName, event.EventName())
	msg.Metadata.Set(MetaSchemaVersion, strconv.Itoa(event.SchemaVersion()))
	msg.Metadata.Set(MetaCorrelationID, env.CorrelationID)
	msg.Metadata.Set(MetaCausationID, env.CausationID)
	msg.Metadata.Set(MetaActor, env.Actor)
	msg.Metadata.Set(MetaRecordedAt, env.RecordedAt.UTC().Format(time.RFC3339Nano))
	if env.StreamID != "" {
		msg.Metadata.Set(MetaStreamID, env.StreamID)
		msg.Metadata.Set(MetaStreamVersion, strconv.Itoa(env.StreamVersion))
	}

	return msg
}

// Decode returns the event a log record holds, upcast to the current
// version of its type. The events of an EventsIngested record share their
// payload and metadata bytes with msg.Payload.
func Decode(msg *message.Message) (Event, error) {
	name := msg.Metadata.Get(MetaName)
	version, err := strconv.Atoi(msg.Metadata.Get(MetaSchemaVersion))
	if err != nil {
		return nil, fmt.Errorf("error reading schema version of record %q: %w", msg.UUID, err)
	}

	decode, ok := decoders[decoderKey{name, version}]
	if !ok {
		return nil, fmt.Errorf("error decoding record %q: %w: %q version %d",
			msg.UUID, ErrUnknownEvent, name, version)
	}

	event, err := decode(msg.Payload)
	if err != nil {
		return nil, fmt.Errorf("error decoding record %q of %q: %w", msg.UUID, name, err)
	}

	return event, nil
}

// EnvelopeOf reads the envelope back from a record's metadata.
func EnvelopeOf(msg *message.Message) Envelope {
	recordedAt, _ := time.Parse(time.RFC3339Nano, msg.Metadata.Get(MetaRecordedAt))
	streamVersion, _ := strconv.Atoi(msg.Metadata.Get(MetaStreamVersion))

	return Envelope{
		CorrelationID: msg.Metadata.Get(MetaCorrelationID),
		CausationID:   msg.Metadata.Get(MetaCausationID),
		Actor:         msg.Metadata.Get(MetaActor),
		RecordedAt:    recordedAt,
		StreamID:      msg.Metadata.Get(MetaStreamID),
		StreamVersion: streamVersion,
	}
}

// Names returns the name of every event this build decodes, sorted.
func Names() []string {
	var names []string
	for key := range decoders {
		if !slices.Contains(names, key.name) {
			names = append(names, key.name)
		}
	}
	slices.Sort(names)

	return names
}

type decoderKey struct {
	name    string
	version int
}

// decoders maps every known name and version to a function returning the
// current Go type. An upcaster for an old version lives here too.
var decoders = map[decoderKey]func([]byte) (Event, error){
	{EventsIngestedName, 1}:  decodeEventsIngested,
	{RuleCreatedName, 1}:     decodeInto[RuleCreated],
	{RuleReplacedName, 1}:    decodeInto[RuleReplaced],
	{RulePatchedName, 1}:     decodeInto[RulePatched],
	{RuleDeletedName, 1}:     decodeInto[RuleDeleted],
	{AnomalyDetectedName, 1}: decodeInto[AnomalyDetected],
	{APIKeyCreatedName, 1}:   decodeInto[APIKeyCreated],
	{APIKeyRevokedName, 1}:   decodeInto[APIKeyRevoked],
}

func decodeInto[T Event](data []byte) (Event, error) {
	var event T
	if err := json.Unmarshal(data, &event); err != nil {
		return nil, err
	}

	return event, nil
}
