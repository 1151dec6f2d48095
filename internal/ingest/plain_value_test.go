package ingest

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// plainValueSeeds are values on both sides of each rule of plainValue.
var plainValueSeeds = []string{
	`{"level":"info","pid":"19939","line":1,"ok":true,"none":null,"off":false}`,
	`{"a":[1,-2.5,0,{"b":[]}],"c":"x y: z"}`,
	`{"n":1e5}`,
	`{"n":1E-5}`,
	`{"n":-0.5e+10}`,
	`{"s":"1e5"}`,
	`{"s":"tab\tescaped"}`,
	`{"s":"\u0000"}`,
	`{"\u0000":1}`,
	`{"s":"\ud800"}`,
	`{"s":"\ud83d\udd25"}`,
	`{"s":"\\u0000"}`,
	`{"n":` + strings.Repeat("9", 999) + `}`,
	`{"n":` + strings.Repeat("9", 1000) + `}`,
	`{"n":0.` + strings.Repeat("1", 2000) + `}`,
	strings.Repeat(`{"a":`, 32) + `1` + strings.Repeat(`}`, 32),
	strings.Repeat(`{"a":`, 33) + `1` + strings.Repeat(`}`, 33),
	strings.Repeat(`[`, 32) + strings.Repeat(`]`, 32),
	`{"a":` + strings.Repeat(`[`, 32) + strings.Repeat(`]`, 32) + `}`,
	` { "spaced" : [ 1 , 2 ] } `,
}

// checkPlainValue fails when plainValue accepts raw but checkValue or
// FindLoneSurrogate finds something in it.
func checkPlainValue(t *testing.T, raw []byte) {
	t.Helper()

	if !json.Valid(raw) || !plainValue(raw) {
		return
	}

	d := newDecoder(raw)
	issue := checkValue(d, 1)
	freeDecoder(d)

	require.Nil(t, issue, "plainValue accepted %s", raw)
	require.Empty(t, FindLoneSurrogate(raw), "plainValue accepted %s", raw)
}

func TestPlainValueAgreesWithFullCheck(t *testing.T) {
	t.Parallel()

	for _, seed := range plainValueSeeds {
		checkPlainValue(t, []byte(seed))
	}

	random := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		checkPlainValue(t, []byte(randomValue(random, 0)))
	}
}

func TestPlainValueTakesCommonPayloads(t *testing.T) {
	t.Parallel()

	for _, raw := range []string{
		`{"level":"info","message":"authentication failure; logname= uid=0","template_id":"E16","pid":"19939"}`,
		`{"method":"GET","path":"/api/orders/42","status":200,"duration_ms":17.5,"bytes":5120,"cached":false}`,
		`{"dataset":"loghub/Linux","line":1}`,
		`{}`,
	} {
		require.True(t, plainValue([]byte(raw)), raw)
	}

	for _, raw := range []string{`{"n":1e5}`, `{"s":"a\"b"}`, strings.Repeat(`[`, 33) + strings.Repeat(`]`, 33)} {
		require.False(t, plainValue([]byte(raw)), raw)
	}
}

func FuzzPlainValue(f *testing.F) {
	for _, seed := range plainValueSeeds {
		f.Add([]byte(seed))
	}

	f.Fuzz(checkPlainValue)
}

// randomValue returns a JSON value with the parts plainValue looks at:
// nesting, exponents, long numbers, escapes and literals.
func randomValue(random *rand.Rand, depth int) string {
	switch n := random.IntN(10); {
	case n < 2 && depth < 36:
		var members []string
		for i := range random.IntN(4) {
			members = append(members, strconv.Quote(randomString(random, i))+":"+randomValue(random, depth+1))
		}

		return "{" + strings.Join(members, ",") + "}"
	case n < 4 && depth < 36:
		var items []string
		for range random.IntN(4) {
			items = append(items, randomValue(random, depth+1))
		}

		return "[" + strings.Join(items, ",") + "]"
	case n < 6:
		return randomNumber(random)
	case n < 8:
		return `"` + randomString(random, n) + `"`
	default:
		return []string{"true", "false", "null"}[random.IntN(3)]
	}
}

func randomNumber(random *rand.Rand) string {
	digits := strings.Repeat(strconv.Itoa(1+random.IntN(9)), 1+random.IntN(3)*random.IntN(600))
	number := []string{"", "-"}[random.IntN(2)] + digits
	if random.IntN(3) == 0 {
		number += "." + digits
	}
	if random.IntN(4) == 0 {
		number += []string{"e", "E", "e+", "e-"}[random.IntN(4)] + strconv.Itoa(random.IntN(200000))
	}

	return number
}

func randomString(random *rand.Rand, i int) string {
	parts := []string{`a`, `e`, `1e5`, `\u0000`, `\ud800`, `\udc00`, `\ud83d\udd25`, `\\`, `\"`, `\n`, ` `, `é`}

	var b strings.Builder
	for range random.IntN(4) + i%2 {
		b.WriteString(parts[random.IntN(len(parts))])
	}

	return b.String()
}
