package bus

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLaneWorkerOfConsumerNames(t *testing.T) {
	t.Parallel()

	for name, want := range map[string]string{
		LaneConsumer("web-1-4211", 1):  "web-1-4211",
		LaneConsumer("web-1-4211", 12): "web-1-4211",
		LaneConsumer("a#lane2", 3):     "a#lane2",
	} {
		worker, ok := laneWorker(name)
		require.True(t, ok, name)
		require.Equal(t, want, worker, name)
	}

	for _, name := range []string{"web-1-4211", LaneConsumer("web-1-4211", 0), "w#lane", "w#lane0", "w#lane-1", "w#lanex"} {
		_, ok := laneWorker(name)
		require.False(t, ok, name)
	}
}
