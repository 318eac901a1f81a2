package main

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
)

// units is DynamoDB capacity consumed, in on-demand request units.
type units struct {
	// Reads are read request units, as the server reports them.
	Reads float64
	// TableWrites are write request units on the table, as the server
	// reports them.
	TableWrites float64
	// IndexWrites are write request units on the global secondary indexes,
	// which the server does not report: see meter.indexWrites.
	IndexWrites float64
	// Calls counts requests by operation.
	Calls map[string]int
}

func (u units) writes() float64 { return u.TableWrites + u.IndexWrites }

func (u units) calls() int {
	n := 0
	for _, c := range u.Calls {
		n += c
	}
	return n
}

// meter is a dynamostore.API that passes every call to a real client and
// tallies the capacity it consumed. It asks the server for each call's
// ConsumedCapacity. For writes it also reads the item before and after
// (those reads are not tallied) to charge the index writes the way
// DynamoDB does for an index projecting all attributes: an item entering or
// leaving an index is one write of its entry; an item whose index key
// changes is two (delete and put); an item that stays with the same key but
// changes is one; each write costs one unit per started KB of the entry.
type meter struct {
	api   *dynamodb.Client
	table string

	mu sync.Mutex
	u  units
}

var _ dynamostore.API = (*meter)(nil)

// take returns the tally so far and starts a new one.
func (m *meter) take() units {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.u
	m.u = units{}
	return u
}

func (m *meter) add(op string, reads, tableWrites, indexWrites float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.u.Calls == nil {
		m.u.Calls = map[string]int{}
	}
	m.u.Calls[op]++
	m.u.Reads += reads
	m.u.TableWrites += tableWrites
	m.u.IndexWrites += indexWrites
}

func capacity(c *types.ConsumedCapacity) float64 {
	if c == nil || c.CapacityUnits == nil {
		return 0
	}
	return *c.CapacityUnits
}

func (m *meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	cp := *in
	cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.api.GetItem(ctx, &cp, opts...)
	if err == nil {
		m.add("GetItem", capacity(out.ConsumedCapacity), 0, 0)
	}
	return out, err
}

func (m *meter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	cp := *in
	cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.api.Query(ctx, &cp, opts...)
	if err == nil {
		// DynamoDB charges a query that finds nothing its minimum: half a
		// unit, or one if strongly consistent. The server reports zero.
		least := 0.5
		if aws.ToBool(in.ConsistentRead) {
			least = 1
		}
		m.add("Query", math.Max(least, capacity(out.ConsumedCapacity)), 0, 0)
	}
	return out, err
}

func (m *meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	old, err := m.peek(ctx, nil, in.Item)
	if err != nil {
		return nil, err
	}
	cp := *in
	cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.api.PutItem(ctx, &cp, opts...)
	m.charge(ctx, "PutItem", err, out, old, in.Item)
	return out, err
}

func (m *meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	old, err := m.peek(ctx, in.Key, nil)
	if err != nil {
		return nil, err
	}
	cp := *in
	cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.api.UpdateItem(ctx, &cp, opts...)
	var after map[string]types.AttributeValue
	if err == nil {
		if after, err = m.peekKey(ctx, in.Key); err != nil {
			return nil, err
		}
	}
	m.charge(ctx, "UpdateItem", err, out, old, after)
	return out, err
}

func (m *meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	cp := *in
	cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.api.BatchGetItem(ctx, &cp, opts...)
	if err == nil {
		reads := 0.0
		for i := range out.ConsumedCapacity {
			reads += capacity(&out.ConsumedCapacity[i])
		}
		m.add("BatchGetItem", reads, 0, 0)
	}
	return out, err
}

func (m *meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	old, err := m.peekKey(ctx, in.Key)
	if err != nil {
		return nil, err
	}
	cp := *in
	cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.api.DeleteItem(ctx, &cp, opts...)
	m.charge(ctx, "DeleteItem", err, out, old, nil)
	return out, err
}

// charge tallies one write: the table's units as the server reports them
// (one unit for a failed condition, as DynamoDB charges), and the index
// writes from the item before and after.
func (m *meter) charge(_ context.Context, op string, err error, out any, before, after map[string]types.AttributeValue) {
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		m.add(op+" (condition failed)", 0, math.Max(1, writeUnits(before)), 0)
		return
	case err != nil:
		return
	}
	var table float64
	switch o := out.(type) {
	case *dynamodb.PutItemOutput:
		table = capacity(o.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		table = capacity(o.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		table = capacity(o.ConsumedCapacity)
	}
	m.add(op, 0, table, indexWrites(before, after))
}

// peek reads the item a write will replace, without tallying the read.
func (m *meter) peek(ctx context.Context, key, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if key == nil {
		key = map[string]types.AttributeValue{dynamostore.AttrPK: item[dynamostore.AttrPK], dynamostore.AttrSK: item[dynamostore.AttrSK]}
	}
	return m.peekKey(ctx, key)
}

func (m *meter) peekKey(ctx context.Context, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := m.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(m.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// indexes are the table's global secondary indexes by their key attributes
// (schema.go); both project all attributes.
var indexes = [][2]string{
	{dynamostore.AttrGSI1PK, dynamostore.AttrGSI1SK},
	{dynamostore.AttrGSI2PK, dynamostore.AttrGSI2SK},
}

// indexWrites is the write units the indexes consume when before becomes
// after (nil for no item).
func indexWrites(before, after map[string]types.AttributeValue) float64 {
	total := 0.0
	for _, ix := range indexes {
		inBefore, inAfter := hasKeys(before, ix), hasKeys(after, ix)
		switch {
		case inBefore && inAfter && sameKeys(before, after, ix):
			if itemSize(before) != itemSize(after) || !sameItem(before, after) {
				total += math.Max(writeUnits(before), writeUnits(after))
			}
		case inBefore && inAfter:
			total += writeUnits(before) + writeUnits(after)
		case inBefore:
			total += writeUnits(before)
		case inAfter:
			total += writeUnits(after)
		}
	}
	return total
}

func hasKeys(item map[string]types.AttributeValue, ix [2]string) bool {
	if item == nil {
		return false
	}
	_, pk := item[ix[0]]
	_, sk := item[ix[1]]
	return pk && sk
}

func sameKeys(a, b map[string]types.AttributeValue, ix [2]string) bool {
	return str(a[ix[0]]) == str(b[ix[0]]) && str(a[ix[1]]) == str(b[ix[1]])
}

func sameItem(a, b map[string]types.AttributeValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if render(v) != render(b[k]) {
			return false
		}
	}
	return true
}

func str(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// writeUnits is one write unit per started KB of the item.
func writeUnits(item map[string]types.AttributeValue) float64 {
	return math.Max(1, math.Ceil(float64(itemSize(item))/1024))
}

// itemSize is an item's size as DynamoDB counts it for capacity: each
// attribute's name plus its value (the rules dynalite follows too).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + len(v.Value) + itemSize(v.Value)
	}
	return 0
}

// numberSize is the stored size of a number: about one byte per two
// significant digits, plus one.
func numberSize(s string) int {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, _ := strings.Cut(s, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	lead := len(intPart + frac)
	lead -= len(digits) // leading zeros
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return 1
	}
	exp := len(intPart) - lead - 1 // position of the first significant digit
	n := 1 + (len(digits)+1)/2
	if len(digits)%2 == 0 && exp%2 == 0 {
		n++
	}
	if neg {
		n++
	}
	return n
}

// render is a value's identity for comparison.
func render(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S" + v.Value
	case *types.AttributeValueMemberN:
		return "N" + v.Value
	case *types.AttributeValueMemberM:
		var b strings.Builder
		b.WriteString("M{")
		for _, k := range slices.Sorted(maps.Keys(v.Value)) {
			b.WriteString(k + "=" + render(v.Value[k]) + ";")
		}
		return b.String() + "}"
	case *types.AttributeValueMemberL:
		var b strings.Builder
		b.WriteString("L[")
		for _, e := range v.Value {
			b.WriteString(render(e) + ";")
		}
		return b.String() + "]"
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return "true"
		}
		return "false"
	case *types.AttributeValueMemberNULL:
		return "null"
	}
	return "?"
}
