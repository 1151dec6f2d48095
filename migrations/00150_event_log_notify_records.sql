-- Each appended record other than EventsIngested wakes the projectors that
-- handle its name: the trigger sends the name on the eventpulse_log
-- channel once the appending transaction commits. Projectors that skip
-- EventsIngested then poll the log every 250 ms instead of every 25 ms and
-- still apply a rule, API key or anomaly record within milliseconds. Their
-- polling took about 40% of the CPU of an idle `eventpulse run` and its
-- PostgreSQL together. EventsIngested records, several hundred a second
-- under load, send nothing: the projectors that read them poll on their
-- own intervals.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION event_log_notify_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eventpulse_log', NEW.metadata ->> 'name');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER event_log_record_notify
    AFTER INSERT ON event_log
    FOR EACH ROW WHEN (NEW.metadata ->> 'name' IS DISTINCT FROM 'EventsIngested')
    EXECUTE FUNCTION event_log_notify_record();

-- +goose Down
DROP TRIGGER event_log_record_notify ON event_log;
DROP FUNCTION event_log_notify_record();
