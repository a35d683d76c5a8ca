"""One base class for every schema model.

A model subclass declares its fields once, as class attributes made by
:func:`field`; :class:`Model` derives everything else from them: construction by
Python name or wire name, validation with errors that name the model, the field,
the expected and the received type, immutability, mapping and attribute access,
a ``repr`` that shortens secrets, and JSON in wire names.

Values are kept in a dict keyed by wire name, exactly as they go on the wire, so
serializing is one ``json.dumps`` and parsing a response is one pass over the
declared fields. Unknown fields sent by the server are kept, never rejected.
"""

from __future__ import annotations

import json
from typing import (
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterator,
    Mapping,
    NoReturn,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from .exceptions import (
    ApiAttributeError,
    ApiKeyError,
    ApiMissingFieldError,
    ApiTypeError,
    ApiValueError,
)

M = TypeVar("M", bound="Model")


class Unset:
    """The type of :data:`unset`: "no value given", distinct from ``None``."""

    _instance: ClassVar[Optional[Unset]] = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unset"

    def __bool__(self) -> bool:
        return False


unset = Unset()


class Field:
    """One declared field of a model: how it is named, typed and shown."""

    __slots__ = (
        "default",
        "description",
        "exact",
        "many",
        "name",
        "required",
        "secret",
        "type",
        "wire",
    )

    def __init__(
        self,
        wire: str,
        type_: Any,
        *,
        many: bool,
        required: bool,
        default: Any,
        secret: bool,
        description: str,
    ) -> None:
        self.name = wire  # the Python name; set from the attribute name by Model
        self.wire = wire
        self.type = type_
        self.many = many
        #: The type a value may have to be taken as is, with no check or conversion.
        self.exact = None if many else type_
        self.required = required
        self.default = default
        self.secret = secret
        self.description = description

    @property
    def type_name(self) -> str:
        name = self.type.__name__
        return f"list[{name}]" if self.many else name

    def check(self, model: str, value: Any, from_server: bool) -> Any:
        """Return ``value`` as this field holds it, or raise naming model and field."""
        if self.many:
            if not isinstance(value, (list, tuple)):
                self.wrong_type(model, value)
            return tuple(self.check_one(model, item, from_server) for item in value)
        return self.check_one(model, value, from_server)

    def check_one(self, model: str, value: Any, from_server: bool) -> Any:
        expected = self.type
        kind = type(value)
        if kind is expected:
            return value
        if expected is int:
            if kind is float and value.is_integer():
                return int(value)
        elif expected is str:
            if isinstance(value, str):
                return str(value)
        elif issubclass(expected, Model):
            if isinstance(value, expected):
                return value
            if isinstance(value, Mapping):
                return expected._from_wire(value) if from_server else expected(value)
        self.wrong_type(model, value)

    def wrong_type(self, model: str, value: Any) -> NoReturn:
        raise ApiTypeError(
            f"{model}.{self.name} ({self.wire!r}) expects {self.type_name}, "
            f"got {type(value).__name__}",
            [model, self.wire],
        )


def field(
    wire: str,
    type_: Union[type, str],
    *,
    many: bool = False,
    required: bool = False,
    default: Any = unset,
    secret: bool = False,
    description: str = "",
) -> Any:
    """Declare a model field. ``type_`` may name the model being declared, for nesting.

    Typed ``Any`` so the annotation on the attribute rules.
    """
    return Field(
        wire,
        type_,
        many=many,
        required=required,
        default=default,
        secret=secret,
        description=description,
    )


def _shorten(value: Any) -> str:
    """A secret shown by its first characters only, enough to tell two apart."""
    if not isinstance(value, str):
        return repr(value)
    if len(value) <= 12:
        return "'***'"
    return repr(f"{value[:4]}…({len(value)} chars)")


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return value._values
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_encode: Callable[[Any], str] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=_to_jsonable
).encode


class Model(Mapping[str, Any]):
    """Base of all schema models; see the module docstring."""

    __slots__ = ("_values",)
    _values: Dict[str, Any]
    _fields: ClassVar[Tuple[Field, ...]] = ()
    #: The fields that ``_complete`` looks at: required ones and those with a default.
    _completing: ClassVar[Tuple[Field, ...]] = ()
    _lookup: ClassVar[Dict[str, Field]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = []
        for name, value in list(vars(cls).items()):
            if isinstance(value, Field):
                value.name = name
                if value.type == cls.__name__:
                    value.type = cls
                    value.exact = None if value.many else cls
                fields.append(value)
                setattr(cls, name, property(_getter(value), doc=value.description or None))
        cls._fields = tuple(fields)
        cls._completing = tuple(f for f in fields if f.required or f.default is not unset)
        cls._lookup = {**{f.wire: f for f in fields}, **{f.name: f for f in fields}}
        lines = [
            f"    {f.name} ({f.type_name}{', required' if f.required else ''}): "
            f"{f.description}".rstrip(": ")
            for f in fields
        ]
        cls.__doc__ = f"{(cls.__doc__ or '').rstrip()}\n\n    Fields:\n" + "\n".join(lines)

    def __init__(self, _data: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> None:
        """Build from fields given by Python name or wire name, as keywords or a mapping."""
        model = type(self).__name__
        if _data is not None and not isinstance(_data, Mapping):
            raise ApiTypeError(
                f"{model} expects a mapping of fields, got {type(_data).__name__}", [model]
            )
        given = {**_data, **fields} if _data else fields
        values: Dict[str, Any] = {}
        for key, value in given.items():
            spec = self._lookup.get(key)
            if spec is None:
                if not isinstance(key, str):
                    raise ApiTypeError(f"{model} field names are str, got {key!r}", [model, key])
                raise ApiTypeError(self._unknown(key, "got an unexpected keyword"), [model, key])
            if spec.wire in values:
                raise ApiTypeError(f"{model}.{spec.name} was given twice", [model, spec.wire])
            if value is not None or spec.required:
                # The usual case, a value of exactly the declared type, needs no conversion.
                values[spec.wire] = (
                    value if type(value) is spec.exact else spec.check(model, value, False)
                )
        self._complete(values)
        object.__setattr__(self, "_values", values)

    @classmethod
    def _from_wire(cls: Type[M], data: Any) -> M:
        """Validate a decoded JSON value from the server; unknown fields are kept."""
        if type(data) is not dict:
            raise ApiTypeError(
                f"{cls.__name__} expects a JSON object, got {type(data).__name__}", [cls.__name__]
            )
        try:
            for spec in cls._fields:
                wire = spec.wire
                value = data.get(wire)
                if value is None:
                    if wire in data:
                        del data[wire]
                elif type(value) is not spec.exact:  # the usual case needs no check
                    data[wire] = spec.check(cls.__name__, value, True)
        except RecursionError:
            raise ApiValueError(f"{cls.__name__} is nested too deeply", [cls.__name__]) from None
        cls._complete(data)
        self = object.__new__(cls)
        object.__setattr__(self, "_values", data)
        return self

    @classmethod
    def _complete(cls, values: Dict[str, Any]) -> None:
        """Add defaults; raise if a required field is missing."""
        for spec in cls._completing:
            if spec.wire not in values:
                if spec.required:
                    raise ApiMissingFieldError(
                        f"{cls.__name__}.{spec.name} ({spec.wire!r}) is required: "
                        f"expected {spec.type_name}, got nothing",
                        [cls.__name__, spec.wire],
                    )
                if spec.default is not unset:
                    values[spec.wire] = spec.default

    def _unknown(self, key: str, what: str) -> str:
        import difflib

        names = [f.name for f in self._fields]
        close = difflib.get_close_matches(key, [*names, *self._lookup], n=1, cutoff=0.5)
        hint = f"; did you mean {self._lookup[close[0]].name!r}?" if close else ""
        return f"{type(self).__name__} {what} {key!r}{hint} Fields: {', '.join(names)}"

    # -- reading: mapping in wire names, attributes in Python names (wire names work too)
    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            spec = self._lookup.get(key)
            if spec is not None and spec.wire in self._values:
                return self._values[spec.wire]
            raise ApiKeyError(f"{type(self).__name__} has no value for {key!r}", key) from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        spec = self._lookup.get(name)
        if spec is not None:
            return self._values.get(spec.wire)
        try:
            return self._values[name]
        except KeyError:
            raise ApiAttributeError(self._unknown(name, "has no attribute")) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        if key in self._values:
            return True
        spec = self._lookup.get(key) if isinstance(key, str) else None
        return spec is not None and spec.wire in self._values

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Model):
            return type(other) is type(self) and other._values == self._values
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # -- immutability
    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise ApiAttributeError(f"{type(self).__name__} is immutable; build a new one instead")

    def __delattr__(self, name: str) -> NoReturn:
        raise ApiAttributeError(f"{type(self).__name__} is immutable; build a new one instead")

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self)._from_wire, (self.to_dict(),))

    # -- output
    def to_dict(self) -> Dict[str, Any]:
        """A plain dict in wire names, nested models included: what goes on the wire."""
        return json.loads(self.to_json())  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """Compact JSON in wire names."""
        return _encode(self._values)

    def __repr__(self) -> str:
        parts = []
        for key, value in self._values.items():
            spec = self._lookup.get(key)
            if spec is None:
                parts.append(
                    f"{key}={value!r}" if key.isidentifier() else f"**{{{key!r}: {value!r}}}"
                )
            else:
                parts.append(f"{spec.name}={_shorten(value) if spec.secret else repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _getter(spec: Field) -> Callable[[Model], Any]:
    wire, default = spec.wire, (None if spec.default is unset else spec.default)

    def get(self: Model) -> Any:
        return self._values.get(wire, default)

    get.__name__ = spec.name
    return get
