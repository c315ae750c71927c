"""Read a TensorFlow v1 checkpoint ("tensor bundle") with numpy only, no TensorFlow.

A bundle with prefix ``P`` is two files:

* ``P.index``: a LevelDB-style sorted string table. Its 48-byte footer points at an
  index block whose entries point at data blocks; each data-block entry maps a
  tensor name to a protobuf ``BundleEntryProto`` (dtype, shape, shard, offset,
  size), and the empty key holds the ``BundleHeaderProto`` (shard count, byte order).
  Keys are prefix-compressed against the previous key of their block.
* ``P.data-00000-of-00001``: the raw little-endian tensor bytes at those offsets.

Only what TensorFlow writes for plain variables is supported: uncompressed
blocks, one little-endian shard, no partitioned (sliced) tensors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Last 8 bytes of every table file.
_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48
#: Bytes after each block: compression type (1) + masked crc32c (4).
_BLOCK_TRAILER_SIZE = 5
#: TensorFlow ``DataType`` enum values of the dtypes read here.
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),
    2: np.dtype("<f8"),
    3: np.dtype("<i4"),
    4: np.dtype("u1"),
    5: np.dtype("<i2"),
    6: np.dtype("i1"),
    9: np.dtype("<i8"),
    10: np.dtype("?"),
    19: np.dtype("<f2"),
}


class BundleError(ValueError):
    """A checkpoint file is malformed or uses a feature this reader does not support."""


@dataclass(frozen=True)
class BundleEntry:
    """Where one tensor lives in the data file."""

    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    has_slices: bool


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; returns ``(value, next_pos)``."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise BundleError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """``(field_number, value)`` for each field of a serialized protobuf message (varint, bytes or fixed)."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            fields.append((number, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            fields.append((number, buf[pos : pos + length]))
            pos += length
        elif wire == 5:
            fields.append((number, struct.unpack_from("<I", buf, pos)[0]))
            pos += 4
        elif wire == 1:
            fields.append((number, struct.unpack_from("<Q", buf, pos)[0]))
            pos += 8
        else:
            raise BundleError(f"unsupported protobuf wire type {wire}")
    if pos != len(buf):
        raise BundleError("protobuf message overruns its buffer")
    return fields


def _shape(buf: bytes) -> tuple[int, ...]:
    """Dimensions of a ``TensorShapeProto`` (field 2: repeated ``Dim`` with ``size`` in field 1)."""
    dims: list[int] = []
    for number, value in _proto_fields(buf):
        if number == 3 and value:
            raise BundleError("tensor of unknown rank")
        if number == 2 and isinstance(value, bytes):
            size = [v for n, v in _proto_fields(value) if n == 1]
            dims.append(int(size[0]) if size else 0)
    return tuple(dims)


def _scalar(fields: dict[int, int | bytes], number: int, default: int) -> int:
    """Integer field ``number`` of a parsed message (``default`` when absent)."""
    value = fields.get(number, default)
    if not isinstance(value, int):
        raise BundleError(f"protobuf field {number} should be an integer")
    return value


def _entry(buf: bytes) -> BundleEntry:
    """A ``BundleEntryProto``: dtype (1), shape (2), shard_id (3), offset (4), size (5), slices (7)."""
    fields: dict[int, int | bytes] = {}
    slices = False
    for number, value in _proto_fields(buf):
        slices |= number == 7
        fields[number] = value
    shape = fields.get(2, b"")
    if not isinstance(shape, bytes):
        raise BundleError("BundleEntryProto.shape should be a message")
    return BundleEntry(
        dtype=_scalar(fields, 1, 0),
        shape=_shape(shape),
        shard_id=_scalar(fields, 3, 0),
        offset=_scalar(fields, 4, 0),
        size=_scalar(fields, 5, 0),
        has_slices=slices,
    )


def _block(table: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The ``(key, value)`` entries of the block at ``offset`` (``size`` bytes without its trailer)."""
    end = offset + size
    if end + _BLOCK_TRAILER_SIZE > len(table) or size < 4:
        raise BundleError(f"block at {offset} (+{size}) lies outside the {len(table)}-byte index")
    if table[end] != 0:
        raise BundleError(f"block at {offset} is compressed (type {table[end]}); only uncompressed tables are read")
    (num_restarts,) = struct.unpack_from("<I", table, end - 4)
    limit = end - 4 - 4 * num_restarts
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = offset
    while pos < limit:
        shared, pos = _varint(table, pos)
        unshared, pos = _varint(table, pos)
        value_len, pos = _varint(table, pos)
        key = key[:shared] + table[pos : pos + unshared]
        pos += unshared
        entries.append((key, table[pos : pos + value_len]))
        pos += value_len
    if pos != limit:
        raise BundleError(f"block at {offset} has a malformed entry")
    return entries


def _handle(buf: bytes) -> tuple[int, int]:
    """A ``BlockHandle``: varint offset then varint size."""
    offset, pos = _varint(buf, 0)
    size, _ = _varint(buf, pos)
    return offset, size


def data_blocks(table: bytes, name: str = "index") -> list[tuple[int, int]]:
    """``(offset, size)`` of each data block of the table ``table``, from its footer's index block."""
    if len(table) < _FOOTER_SIZE or struct.unpack_from("<Q", table, len(table) - 8)[0] != _TABLE_MAGIC:
        raise BundleError(f"{name} is not a TensorFlow checkpoint index (bad table magic)")
    footer = table[len(table) - _FOOTER_SIZE :]
    _, pos = _varint(footer, 0)  # metaindex offset
    _, pos = _varint(footer, pos)  # metaindex size
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    return [_handle(value) for _, value in _block(table, index_offset, index_size)]


def read_index(index_path: Path) -> tuple[int, dict[str, BundleEntry]]:
    """Parse ``P.index``: ``(num_shards, {tensor name: entry})``."""
    table = Path(index_path).read_bytes()
    num_shards = 1
    entries: dict[str, BundleEntry] = {}
    for offset, size in data_blocks(table, str(index_path)):
        for key, value in _block(table, offset, size):
            if key == b"":
                header = dict(_proto_fields(value))  # BundleHeaderProto: num_shards (1), endianness (2)
                num_shards = _scalar(header, 1, 1)
                if _scalar(header, 2, 0) != 0:
                    raise BundleError(f"{index_path}: big-endian checkpoints are not supported")
            else:
                entries[key.decode()] = _entry(value)
    return num_shards, entries


def data_path(index_path: Path, shard: int = 0, num_shards: int = 1) -> Path:
    """The data file of ``shard`` beside ``P.index``: ``P.data-0000s-of-0000n``."""
    name = Path(index_path).name.removesuffix(".index")
    return Path(index_path).with_name(f"{name}.data-{shard:05d}-of-{num_shards:05d}")


def read_bundle(index_path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint whose index file is ``index_path``, by variable name.

    Raises:
        BundleError: malformed files, several shards, sliced tensors, or an unknown dtype.
        FileNotFoundError: the index or data file is missing.
    """
    index_path = Path(index_path)
    num_shards, entries = read_index(index_path)
    if num_shards != 1:
        raise BundleError(f"{index_path}: checkpoints in {num_shards} shards are not supported")
    data = data_path(index_path).read_bytes()
    tensors: dict[str, np.ndarray] = {}
    for name, entry in entries.items():
        if entry.has_slices:
            raise BundleError(f"{index_path}: tensor {name!r} is partitioned (sliced); not supported")
        if entry.dtype not in _DTYPES:
            raise BundleError(f"{index_path}: tensor {name!r} has unsupported dtype enum {entry.dtype}")
        dtype = _DTYPES[entry.dtype]
        count = int(np.prod(entry.shape, dtype=np.int64))
        if entry.size != count * dtype.itemsize or entry.offset + entry.size > len(data):
            raise BundleError(
                f"{index_path}: tensor {name!r} claims {entry.size} bytes at {entry.offset}, "
                f"but shape {entry.shape} of {dtype} needs {count * dtype.itemsize} and the data file has {len(data)}"
            )
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=entry.offset)
        tensors[name] = flat.reshape(entry.shape).copy()
    return tensors
