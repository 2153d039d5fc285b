import { create, type DescField, type DescMessage, type Message, ScalarType, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** Bytes fields from this length on travel as views of the caller's memory, never copied. */
export const VIEW_MIN_BYTES = 64 * 1024;

/** A message's binary encoding as parts to send one after the other (the big bytes fields as views). */
export type Segments = { parts: Uint8Array[]; byteLength: number };

/**
 * The protobuf binary encoding of `message`, byte for byte what `toBinary` writes, but as a list of parts in
 * which every bytes field of VIEW_MIN_BYTES or more is the caller's own array: a request carrying a 7B image's
 * tensors is then never copied on its way into the request body. (`toBinary` copies such a field several times:
 * on every buffer growth, when each enclosing message's length prefix widens, and in the final slice.)
 * Parts of the message without large bytes are encoded by `toBinary` itself, field by field, in its order.
 */
export function encodeSegments(schema: DescMessage, message: Message): Segments {
  const segments: Segments = { parts: [], byteLength: 0 };
  append(segments, schema, message);
  return segments;
}

function append(segments: Segments, schema: DescMessage, message: Message): void {
  const push = (part: Uint8Array) => {
    if (part.length === 0) return;
    segments.parts.push(part);
    segments.byteLength += part.length;
  };
  if (!holdsLargeBytes(schema, message)) {
    push(toBinary(schema, message));
    return;
  }
  for (const field of [...schema.fields].sort((a, b) => a.number - b.number)) {
    const value = fieldValue(message, field);
    if (value === undefined) continue;
    const nested = nestedMessages(field, value);
    if (isLargeBytes(field, value)) {
      push(new BinaryWriter().tag(field.number, WireType.LengthDelimited).uint32(value.length).finish());
      push(value);
    } else if (nested && anyHoldsLargeBytes(nested)) {
      for (const item of nested.items) {
        const inner = encodeSegments(nested.schema, item);
        push(new BinaryWriter().tag(field.number, WireType.LengthDelimited).uint32(inner.byteLength).finish());
        for (const part of inner.parts) push(part);
      }
    } else {
      // The field alone, as toBinary writes it: a message with only this field set.
      const init = field.oneof ? { [field.oneof.localName]: { case: field.localName, value } } : { [field.localName]: value };
      push(toBinary(schema, create(schema, init as never)));
    }
  }
  for (const { no, wireType, data } of message.$unknown ?? []) {
    push(new BinaryWriter().tag(no, wireType).finish());
    push(data);
  }
}

/** A field's value when it is set (the selected case of a oneof), else undefined. */
function fieldValue(message: Message, field: DescField): unknown {
  const record = message as unknown as Record<string, unknown>;
  if (!field.oneof) return record[field.localName];
  const selected = record[field.oneof.localName] as { case: string | undefined; value?: unknown } | undefined;
  return selected?.case === field.localName ? selected.value : undefined;
}

/** The messages a message field or a list of messages holds, with their schema; undefined for other fields. */
function nestedMessages(field: DescField, value: unknown): { schema: DescMessage; items: Message[] } | undefined {
  if (field.fieldKind === "message") return { schema: field.message, items: [value as Message] };
  if (field.fieldKind === "list" && field.listKind === "message") return { schema: field.message, items: value as Message[] };
  return undefined;
}

function isLargeBytes(field: DescField, value: unknown): value is Uint8Array {
  return field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES && (value as Uint8Array).length >= VIEW_MIN_BYTES;
}

/** Whether `message` has a bytes field of VIEW_MIN_BYTES or more, at any depth: what encodeSegments leaves in place. */
export function holdsLargeBytes(schema: DescMessage, message: Message): boolean {
  return schema.fields.some((field) => {
    const value = fieldValue(message, field);
    if (value === undefined) return false;
    if (isLargeBytes(field, value)) return true;
    const nested = nestedMessages(field, value);
    return nested !== undefined && anyHoldsLargeBytes(nested);
  });
}

function anyHoldsLargeBytes({ schema, items }: { schema: DescMessage; items: Message[] }): boolean {
  return items.some((item) => holdsLargeBytes(schema, item));
}
