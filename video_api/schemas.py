"""One base class for every schema model, whose fields are class attributes made by
:data:`field`. :class:`Model` derives the rest: construction by Python or wire name, errors
naming model, field and types, immutability, mapping and attribute access, a ``repr`` that
shortens secrets. Values are kept by wire name, as they go on the wire, so serializing is one
``json.dumps`` and parsing one pass over the declared fields. Unknown server fields are kept.
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
import threading
from datetime import datetime, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterator,
    List,
    Mapping,
    NoReturn,
    Optional,
    Set,
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
T = TypeVar("T")
#: What a model takes for a list field: a list or a tuple (a str is refused, though a sequence).
Array = Union[List[T], Tuple[T, ...]]
_fromisoformat = datetime.fromisoformat


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


unset: Unset = Unset()


def resolve(ref: str) -> Any:
    """The model class named ``"module.Class"`` under ``video_api.model``, imported now."""
    module, _, name = ref.rpartition(".")
    return getattr(importlib.import_module(f"video_api.model.{module}"), name)


class Field:
    """A model field (made by :data:`field`) of type ``str``, ``int``, ``float``, ``bool``,
    ``datetime``, ``object`` (any JSON) or a model: a class, or ``"module.Class"`` under
    ``video_api.model``, imported on first use so that a model does not import all it nests."""

    def __init__(
        self,
        wire: str,
        type_: Union[type, str],
        *,
        many: bool = False,
        required: bool = False,
        nullable: bool = False,
        default: Any = unset,
        secret: bool = False,
        enum: Optional[Tuple[Any, ...]] = None,
        description: str = "",
    ) -> None:
        self.name = wire  # the Python name; set from the attribute name by Model
        self.owner = ""  # the model's name; set by Model
        self.wire = wire
        self.type: Any = type_  # a model named by string until resolved
        self.many = many
        self.required = required
        self.nullable = nullable
        self.default = default
        self.secret = secret
        self.enum = enum
        self.description = description
        #: A value of exactly this type is taken unchecked (never datetime: naive ones are refused)
        self.exact = None if many or enum or isinstance(type_, str) or type_ is datetime else type_
        #: Set by loader(): a server's list item of this type is taken as is, others are loaded
        self.item_exact: Any = None
        self.item_load: Callable[[Field, Any], Any] = Field.check_one

    @property
    def type_name(self) -> str:
        name = self.type if isinstance(self.type, str) else self.type.__name__
        name = name.rpartition(".")[2]
        return f"list[{name}]" if self.many else name

    def resolve(self) -> Any:
        """The declared type, importing a model named by string on first use."""
        if isinstance(self.type, str):
            self.type = resolve(self.type)
            self.exact = None if self.many or self.enum else self.type
        return self.type

    def loader(self) -> Tuple[Any, Callable[[Field, Any], Any]]:
        """For parsing: (the type of a server value taken as is, the function of this field and
        any other value that makes it this field's value). Decoded JSON holds only dicts, lists
        and scalars, so plain type tests do. A nested model's parser is compiled now."""
        expected = self.resolve()
        # A server may send an enum value this client does not know yet: it is kept.
        self.item_exact = str if self.enum else expected
        if isinstance(expected, type) and issubclass(expected, Model):
            self.item_load = _compiled(expected)
        elif expected is datetime:
            self.item_load = Field.check_datetime
        return (None, Field.load_many) if self.many else (self.item_exact, self.item_load)

    def load_many(self, value: Any) -> Tuple[Any, ...]:
        if type(value) is not list:
            self.wrong_type(value)
        exact, load = self.item_exact, self.item_load
        for index, item in enumerate(value):  # in place: the decoded list is the model's own
            if type(item) is not exact:
                value[index] = load(self, item)
        return tuple(value)

    def check(self, value: Any) -> Any:
        """A user's ``value`` as this field holds it, or raise naming model and field."""
        if value is None:
            if self.nullable:
                return None
            self.wrong_type(value)
        if self.many:
            if not isinstance(value, (list, tuple)):
                self.wrong_type(value)
            return tuple(self.check_one(item, False) for item in value)
        return self.check_one(value, False)

    def check_one(self, value: Any, from_server: bool = True) -> Any:
        expected = self.resolve()
        kind = type(value)
        if self.enum and not from_server and value not in self.enum:
            if not isinstance(value, expected):
                self.wrong_type(value)
            raise ApiValueError(
                f"{self.owner}.{self.name} ({self.wire!r}) must be one of "
                f"{', '.join(map(repr, self.enum))}, got {value!r}",
                [self.owner, self.wire],
            )
        if expected is datetime:
            return self.check_datetime(value)
        if kind is expected or expected is object:
            return value
        # A subclass (an IntEnum's member, numpy's float64, a str Enum's member) is stored as
        # the exact type, with its value; bool is not a number here.
        if expected is int:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return int(value)
            if from_server and kind is str and value.isascii() and value.isdigit():
                try:  # as the spec's own examples send
                    return int(value)
                except ValueError:  # more digits than int() takes: a wrong type all the same
                    pass
        elif expected is float:
            if kind is int:  # JSON does not tell 5 from 5.0: an int is kept as is
                return value
            if isinstance(value, float):
                return float(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return int(value)
        elif expected is str and isinstance(value, str):
            return str.__str__(value)  # its content: str() of a str Enum's member is its name
        elif issubclass(expected, Model):
            if isinstance(value, expected):
                return value
            if isinstance(value, Mapping):
                return expected(value)
        self.wrong_type(value)

    def check_datetime(self, value: Any) -> datetime:
        """A timezone-aware datetime from one, or from an ISO 8601 string."""
        if isinstance(value, str):
            try:
                parsed = _fromisoformat(value)  # in one C call, what api.video sends
            except ValueError:  # rarer forms, and "Z" before Python 3.11
                from dateutil.parser import isoparse  # type: ignore[import-untyped]

                try:
                    parsed = isoparse(value)
                except (ValueError, OverflowError):
                    raise ApiValueError(
                        f"{self.owner}.{self.name} ({self.wire!r}) expects an ISO 8601 "
                        f"date-time, got {value!r}",
                        [self.owner, self.wire],
                    ) from None
            # api.video sends UTC; a value without an offset is read as UTC.
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ApiValueError(
                    f"{self.owner}.{self.name} ({self.wire!r}) needs a timezone-aware "
                    f"datetime (e.g. datetime.now(timezone.utc)), got a naive one",
                    [self.owner, self.wire],
                )
            return value
        self.wrong_type(value)

    def wrong_type(self, value: Any) -> NoReturn:
        raise ApiTypeError(
            f"{self.owner}.{self.name} ({self.wire!r}) expects {self.type_name}"
            f"{' or None' if self.nullable else ''}, got {type(value).__name__}",
            [self.owner, self.wire],
        )

    def missing(self) -> NoReturn:
        raise ApiMissingFieldError(
            f"{self.owner}.{self.name} ({self.wire!r}) is required: "
            f"expected {self.type_name}, got nothing",
            [self.owner, self.wire],
        )


#: Declare a model field; typed to return ``Any`` so that the attribute's annotation rules.
field: Callable[..., Any] = Field


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
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_encode: Callable[[Any], str] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=_to_jsonable
).encode


class Model(Mapping[str, Any]):
    """Base of all schema models; see the module docstring."""

    __slots__ = ("_values",)
    _values: Dict[str, Any]
    _fields: ClassVar[Tuple[Field, ...]] = ()
    _required: ClassVar[Tuple[Field, ...]] = ()
    #: Per class: the parser of a decoded JSON object from the server, see :func:`_compiled`
    _parse: ClassVar[Callable[[Optional[Field], Any], Any]]
    _lookup: ClassVar[Dict[str, Field]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        by_name = {f.name: f for f in cls._fields}  # a model's subclass keeps its fields
        for name, value in list(vars(cls).items()):
            if isinstance(value, Field):
                value.name, value.owner = name, cls.__name__
                if value.type == cls.__name__:
                    value.type = cls
                    value.exact = None if value.many or value.enum else cls
                by_name[name] = value
                setattr(cls, name, property(_getter(value), doc=value.description or None))
        cls._fields = fields = tuple(by_name.values())
        cls._required = tuple(f for f in fields if f.required)
        cls._parse = functools.partial(_first_parse, cls)
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
            if value is not None or spec.required or spec.nullable:
                # The usual case, a value of exactly the declared type, needs no conversion.
                values[spec.wire] = value if type(value) is spec.exact else spec.check(value)
        # Defaults are not added: the server applies them to what is not sent, and reading a
        # left-out value gives the default.
        for spec in self._required:
            if spec.wire not in values:
                spec.missing()
        _set_values(self, values)

    @classmethod
    def _from_wire(cls: Type[M], data: Any) -> M:
        """Validate a decoded JSON value from the server, which becomes the model's own; unknown
        fields are kept."""
        return cls._parse(None, data)  # type: ignore[no-any-return]

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

    if not TYPE_CHECKING:  # hidden from type checkers, so that they flag a misspelled field

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__") or name == "_values":  # not set yet: no recursion
                raise AttributeError(name)
            spec = self._lookup.get(name)
            if spec is not None:  # a wire name: read as the Python name is, default included
                return self._values.get(spec.wire, None if spec.default is unset else spec.default)
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
        if isinstance(other, Mapping):  # its own mapping view, or its JSON dict
            values = dict(other)
            return self._values == values or self.to_dict() == values
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __setattr__(self, *_: Any) -> NoReturn:
        raise ApiAttributeError(f"{type(self).__name__} is immutable; build a new one instead")

    def __delattr__(self, name: str) -> NoReturn:
        self.__setattr__(name)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_rebuild, (type(self), self._values))

    def to_dict(self) -> Dict[str, Any]:
        """A plain dict in wire names, nested models included: what goes on the wire."""
        return json.loads(self.to_json())  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """Compact JSON in wire names."""
        return _encode(self._values)

    def to_str(self) -> str:
        """The model as ``pprint`` lays it out, as api.video's client's ``to_str()`` gives it."""
        import pprint

        return pprint.pformat(self)

    def _shown(self) -> Iterator[Tuple[str, Any, bool]]:
        """(label, value, secret) for each value, as repr and pprint show them."""
        for key, value in self._values.items():
            spec = self._lookup.get(key)
            if spec is not None:
                yield f"{spec.name}=", value, spec.secret
            else:
                yield (f"{key}=" if key.isidentifier() else f"**{{{key!r}: "), value, False

    def __repr__(self) -> str:
        _teach_pprint()
        parts = [
            f"{label}{_shorten(value) if secret else repr(value)}{'}' if label[0] == '*' else ''}"
            for label, value, secret in self._shown()
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    @classmethod
    def from_dict(cls: Type[M], data: Mapping[str, Any]) -> M:
        """Build from a mapping in Python or wire names, validated as the constructor does."""
        return cls(data)


def _teach_pprint() -> None:
    """Let pprint lay out long models like dicts. pprint calls repr first, so registering here,
    once pprint is loaded, is in time, and ``import video_api`` need not import pprint."""
    printer = getattr(sys.modules.get("pprint"), "PrettyPrinter", None)
    dispatch = getattr(printer, "_dispatch", None)
    if isinstance(dispatch, dict) and Model.__repr__ not in dispatch:
        dispatch[Model.__repr__] = _pprint_model


def _pprint_model(
    printer: Any, model: Model, stream: Any, indent: int, allowance: int, context: Any, level: int
) -> None:
    name = type(model).__name__
    stream.write(name + "(")
    indent += len(name) + 1
    fields = list(model._shown())
    for index, (label, value, secret) in enumerate(fields):
        last = index == len(fields) - 1
        stream.write(label)
        inner, room = indent + len(label), allowance + 1 if last else 1
        if secret:
            stream.write(_shorten(value))
        elif isinstance(value, datetime):  # pprint cannot break it: tzinfo to the next line
            text = repr(value)
            if inner + len(text) + room > printer._width:
                text = text.replace(
                    ", tzinfo=", ",\n" + " " * (inner + text.find("(") + 1) + "tzinfo="
                )
            stream.write(text)
        else:
            printer._format(value, stream, inner, room, context, level)
        if label[0] == "*":  # the "**{key: " of a field that is not an identifier
            stream.write("}")
        if not last:
            stream.write(",\n" + " " * indent)
    stream.write(")")


class _Signature:
    """A model class's ``inspect.signature``: its fields as keywords, by Python name, as
    ``help()``, IPython and editors reading signatures at run time show them. Made when asked
    for, as a model's constructor itself takes ``**fields``."""

    def __get__(self, model: Optional[Model], cls: Type[Model]) -> Any:
        import inspect

        Parameter = inspect.Parameter
        parameters = [Parameter("_data", Parameter.POSITIONAL_ONLY, default=None)]
        for spec in cls._fields:
            default = Parameter.empty if spec.required else None
            kind = spec.resolve()
            hint = List[kind] if spec.many else kind  # type: ignore[valid-type]
            parameters.append(
                Parameter(spec.name, Parameter.KEYWORD_ONLY, default=default, annotation=hint)
            )
        return inspect.Signature(parameters, return_annotation=None)


Model.__signature__ = _Signature()  # type: ignore[attr-defined]


def _first_parse(cls: Type[M], field: Optional[Field], data: Any) -> M:
    """A model's ``_parse`` until its first call, which compiles the real one in its place."""
    parse = _compiled(cls)
    if isinstance(parse, functools.partial):  # this thread compiles it: a signal handler parses
        raise ApiValueError(f"{cls.__name__} was parsed while its parser compiled", [cls.__name__])
    return parse(field, data)  # type: ignore[no-any-return]


_compile_lock = threading.RLock()
#: Under the lock: the models being compiled, and the fields given a placeholder for one of
#: them (a model nesting itself), which get its parser once the outermost compile ends.
_compiling: Set[type] = set()
_placeholders: List[Tuple[Dict[str, Any], int, Field]] = []


def _compiled(cls: Type[Model]) -> Callable[[Optional[Field], Any], Any]:
    """``cls._parse``, compiled now if it is not yet, after the models it nests (which are
    imported now), so that it calls their compiled parsers directly.

    The parser validates a decoded JSON object from the server in place and makes it the
    model's values. It runs for each object of every response, so it is compiled, as
    dataclasses compiles ``__init__``: straight lines, one test per field, where a loop over
    the fields took 10% more time on a page of videos (bench: offline_parse_video_page)."""
    with _compile_lock:
        if not isinstance(cls._parse, functools.partial) or cls in _compiling:
            return cls._parse  # compiled; or being compiled, and a placeholder until it is
        _compiling.add(cls)
        try:
            cls._parse = _compile(cls)
        finally:
            _compiling.discard(cls)
        if not _compiling:
            for space, index, spec in _placeholders:
                spec.item_load = spec.type._parse
                if not spec.many:  # a list's load_many reads spec.item_load itself
                    space[f"load{index}"] = spec.item_load
            _placeholders.clear()
        return cls._parse


def _compile(cls: Type[Model]) -> Callable[[Optional[Field], Any], Any]:
    space: Dict[str, Any] = {"cls": cls, "new": object.__new__, "settle": _settle}
    space.update(set_values=_set_values, not_object=_not_object, too_deep=_too_deep)
    lines = ["def parse(field, data):", "    if type(data) is not dict:"]
    lines += ["        not_object(cls, field, data)", "    try:"]
    for index, spec in enumerate(cls._fields):
        exact, space[f"load{index}"] = spec.loader()
        space[f"spec{index}"], space[f"exact{index}"] = spec, exact
        if isinstance(spec.item_load, functools.partial):
            _placeholders.append((space, index, spec))
        wire = repr(spec.wire)
        lines.append(f"        value = data.get({wire})")
        if exact in (str, int, float, bool):  # JSON's own: the usual value needs nothing
            lines.append(f"        if type(value) is not exact{index}:")
        else:  # a model, a list or a date: loaded
            lines += ["        if value is not None:"]
            lines += [
                f"            data[{wire}] = load{index}(spec{index}, value)",
                "        else:",
            ]
        lines.append(f"            settle(data, value, spec{index}, load{index})")
    lines.append("        pass")  # for a model without fields
    lines += ["    except RecursionError:", "        too_deep(cls)"]
    lines += ["    self = new(cls)", "    set_values(self, data)", "    return self"]
    exec(compile("\n".join(lines), f"<{cls.__name__} parser>", "exec"), space)
    return space["parse"]  # type: ignore[no-any-return]


def _settle(data: Dict[str, Any], value: Any, spec: Field, load: Callable[..., Any]) -> None:
    """A server's value that is not of the type its field holds: converted, or a null checked."""
    wire = spec.wire
    if value is not None:
        data[wire] = load(spec, value)
        return
    if not spec.nullable and wire in data:  # a null that cannot be: read as absent
        del data[wire]
    if spec.required and wire not in data:
        spec.missing()


def _not_object(cls: Type[Model], field: Optional[Field], data: Any) -> NoReturn:
    if field is not None:
        field.wrong_type(data)
    name = cls.__name__
    raise ApiTypeError(f"{name} expects a JSON object, got {type(data).__name__}", [name])


def _too_deep(cls: Type[Model]) -> NoReturn:
    raise ApiValueError(f"{cls.__name__} is nested too deeply", [cls.__name__]) from None


_set_values = Model._values.__set__  # type: ignore[attr-defined]  # the slot, set once


def _rebuild(cls: Type[M], values: Dict[str, Any]) -> M:
    """A model of ``cls`` holding ``values``, as pickle and copy rebuild it: its own values
    (datetimes keep their tzinfo), not validated again."""
    self = object.__new__(cls)
    _set_values(self, values)
    return self


def _getter(spec: Field) -> Callable[[Model], Any]:
    wire, default = spec.wire, (None if spec.default is unset else spec.default)

    def get(self: Model) -> Any:
        return self._values.get(wire, default)

    get.__name__ = spec.name
    return get
