package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// neonJSON is the gateway's JSON marshaler. It reads requests like protojson (proto field
// names, unknown fields rejected, 64-bit integers as numbers or strings) and writes
// responses the way Neon's pageserver does, which differs from protojson in two ways:
//
//   - 64-bit integers are JSON numbers ("size": 123456789), not strings;
//   - unset optional fields are present as null ("current_physical_size": null).
//
// Fields appear in declaration order. Example, a TenantInfo without a physical size:
//
//	protojson: {"id":"0123…","state":"Active","generation":0}
//	neonJSON:  {"id":"0123…","state":"Active","current_physical_size":null,
//	            "has_in_progress_downloads":null,"broken_reason":null,"generation":0}
type neonJSON struct {
	runtime.JSONPb
}

func newMarshaler() runtime.Marshaler {
	return &neonJSON{JSONPb: runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{
			UseProtoNames:   true,
			EmitUnpopulated: true,
		},
		UnmarshalOptions: protojson.UnmarshalOptions{
			DiscardUnknown: false, // a misspelt config key is a 400, not silently ignored
		},
	}}
}

var protoMessageType = reflect.TypeFor[proto.Message]()

// Marshal renders a response: a message, a slice of messages (a response_body that is a
// repeated field), or anything else (delegated to JSONPb).
func (m *neonJSON) Marshal(v any) ([]byte, error) {
	if msg, ok := v.(proto.Message); ok {
		return m.marshalMessage(msg)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Implements(protoMessageType) {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := range rv.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			b, err := m.marshalMessage(rv.Index(i).Interface().(proto.Message))
			if err != nil {
				return nil, err
			}
			buf.Write(b)
		}
		buf.WriteByte(']')
		return buf.Bytes(), nil
	}
	return m.JSONPb.Marshal(v)
}

func (m *neonJSON) marshalMessage(msg proto.Message) ([]byte, error) {
	raw, err := m.MarshalOptions.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("re-read protojson output: %w", err)
	}
	return encode(neonValue(msg.ProtoReflect().Descriptor(), tree))
}

// encode is json.Marshal without HTML escaping ("<" stays "<", as in Neon's output).
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// neonValue rewrites the protojson tree of one message of type md.
func neonValue(md protoreflect.MessageDescriptor, tree any) any {
	obj, ok := tree.(map[string]any)
	if !ok || strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return tree // well-known types keep their special JSON forms
	}
	out := make(orderedObject, 0, len(obj))
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		name := string(fd.Name())
		v, present := obj[name]
		switch {
		case !present && fd.HasPresence() && (fd.ContainingOneof() == nil || fd.ContainingOneof().IsSynthetic()):
			out = append(out, member{name, nil})
		case !present:
			// An unset member of a real oneof: absent, as in protojson.
		case fd.IsList():
			if list, ok := v.([]any); ok {
				for j := range list {
					list[j] = neonField(fd, list[j])
				}
			}
			out = append(out, member{name, v})
		case fd.IsMap():
			if m, ok := v.(map[string]any); ok {
				for k := range m {
					m[k] = neonField(fd.MapValue(), m[k])
				}
			}
			out = append(out, member{name, v})
		default:
			out = append(out, member{name, neonField(fd, v)})
		}
	}
	return out
}

// neonField rewrites one value of field fd.
func neonField(fd protoreflect.FieldDescriptor, v any) any {
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if s, ok := v.(string); ok {
			return json.Number(s)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return neonValue(fd.Message(), v)
	}
	return v
}

// member is one name/value pair of an orderedObject.
type member struct {
	name  string
	value any
}

// orderedObject is a JSON object whose members keep their order.
type orderedObject []member

// MarshalJSON implements json.Marshaler.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := encode(m.name)
		if err != nil {
			return nil, err
		}
		v, err := encode(m.value)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", m.name, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
