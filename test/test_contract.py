"""The package declares what openapi.yaml says: models, operations, facades and hosts.

Every expectation here is derived from the contract, so a schema, property, status
code or endpoint added to openapi.yaml without its declaration in the package makes
these tests fail. The checks are functions that return a list of problems; the
``test_checker_*`` tests feed them altered contracts to show they do catch drift.
"""

from __future__ import annotations

import copy
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional, Set, Tuple, Type

import pytest
import yaml

import video_api
from video_api import models
from video_api.apis.path_to_api import path_to_api
from video_api.apis.tag_to_api import tag_to_api
from video_api.configuration import ENVIRONMENTS
from video_api.schemas import Model, unset
from video_api.testing import Emulator

CONTRACT_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"
CONTRACT: Dict[str, Any] = yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCALARS: Dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}
SAMPLES: Dict[str, Any] = {"string": "contract-test", "integer": 1, "number": 1.5, "boolean": True}


def schema_names(contract: Dict[str, Any]) -> List[str]:
    return sorted(contract.get("components", {}).get("schemas", {}))


def operations(contract: Dict[str, Any]) -> List[Tuple[str, str, Dict[str, Any]]]:
    return [
        (path, method, spec)
        for path, item in contract.get("paths", {}).items()
        for method, spec in item.items()
        if method in HTTP_METHODS
    ]


def tags(contract: Dict[str, Any]) -> Set[str]:
    return {tag for _, _, spec in operations(contract) for tag in spec.get("tags", [])}


# -- names, as openapi-generator's python client derives them --------------------------------


def _words(name: str) -> List[str]:
    return [word for word in re.split(r"[^0-9A-Za-z]+", name) if word]


def class_name(schema: str) -> str:
    """access-token -> AccessToken."""
    return "".join(word[:1].upper() + word[1:] for word in _words(schema))


def module_name(name: str) -> str:
    """access-token -> access_token; /auth/api-key -> auth_api_key."""
    return "_".join(_words(name)).lower()


def operation_method_name(operation_id: str) -> str:
    """POST_auth-api-key -> p_ost_auth_api_key: camelize with a lower first letter, then
    snake_case it, as the generator does (hence the documented ``p_ost`` prefix)."""
    camel = "".join(word[:1].upper() + word[1:] for word in _words(operation_id))
    camel = camel[:1].lower() + camel[1:]
    snake = re.sub(r"([A-Z]+)([A-Z][a-z][a-z]+)", r"\1_\2", camel)
    snake = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", snake)
    return snake.lower()


def tag_api_name(tag: str) -> str:
    """Authentication -> AuthenticationApi."""
    return class_name(tag) + "Api"


def content_type_suffix(content_type: str) -> str:
    """application/json -> ApplicationJson."""
    return class_name(content_type)


def test_generator_names_match_the_documented_ones() -> None:
    """The name derivation reproduces the names on the documented page."""
    assert operation_method_name("POST_auth-api-key") == "p_ost_auth_api_key"
    assert operation_method_name("POST_auth-refresh") == "p_ost_auth_refresh"
    assert class_name("refresh-token-payload") == "RefreshTokenPayload"
    assert module_name("/auth/api-key") == "auth_api_key"
    assert tag_api_name("Authentication") == "AuthenticationApi"
    assert content_type_suffix("application/json") == "ApplicationJson"


# -- resolving the package's declarations ---------------------------------------------------


def model_for(schema: str) -> Optional[Type[Model]]:
    try:
        module = importlib.import_module(f"video_api.model.{module_name(schema)}")
    except ModuleNotFoundError:
        return None
    cls = getattr(module, class_name(schema), None)
    return cls if isinstance(cls, type) and issubclass(cls, Model) else None


def ref_name(ref: str) -> str:
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix), ref
    return ref[len(prefix) :]


def operation_module(path: str, method: str) -> Optional[ModuleType]:
    try:
        return importlib.import_module(f"video_api.paths.{module_name(path)}.{method}")
    except ModuleNotFoundError:
        return None


def json_schema(content: Dict[str, Any]) -> Tuple[str, Dict[str, Any]]:
    """The (content type, schema) of the JSON entry of a requestBody/response content map."""
    for content_type, media in content.items():
        if "json" in content_type:
            return content_type, media.get("schema", {})
    raise AssertionError(f"no JSON content in {sorted(content)}")


def expected_type(prop: Dict[str, Any]) -> Tuple[Any, bool]:
    """(Python type or model, many) for a property of the contract."""
    if "$ref" in prop:
        return model_for(ref_name(prop["$ref"])), False
    if prop.get("type") == "array":
        item, _ = expected_type(prop.get("items", {}))
        return item, True
    return SCALARS.get(prop.get("type", ""), object), False


# -- the checks ------------------------------------------------------------------------------


def schema_problems(contract: Dict[str, Any], name: str) -> List[str]:
    """How the model declared for schema ``name`` differs from the contract."""
    schema = contract["components"]["schemas"][name]
    cls = model_for(name)
    if cls is None:
        return [f"{name}: no model {class_name(name)} in video_api.model.{module_name(name)}"]
    problems: List[str] = []
    fields = {spec.wire: spec for spec in cls._fields}
    properties: Dict[str, Any] = schema.get("properties", {})
    if set(fields) != set(properties):
        problems.append(f"{name}: wire names {sorted(fields)} != contract {sorted(properties)}")
    for wire, prop in properties.items():
        spec = fields.get(wire)
        if spec is None:
            continue
        kind, many = expected_type(prop)
        if (spec.type, spec.many) != (kind, many):
            problems.append(f"{name}.{wire}: declared {spec.type_name}, contract {prop}")
        default = prop.get("default", unset)
        if spec.default != default:
            problems.append(f"{name}.{wire}: default {spec.default!r} != contract {default!r}")
    required = {wire for wire, spec in fields.items() if spec.required}
    if required != set(schema.get("required", [])):
        problems.append(f"{name}: required {sorted(required)} != {schema.get('required', [])}")
    return problems


def operation_problems(contract: Dict[str, Any], path: str, method: str) -> List[str]:
    """How the declared ``operation`` for ``method path`` differs from the contract."""
    spec = contract["paths"][path][method]
    where = f"{method.upper()} {path}"
    module = operation_module(path, method)
    operation = getattr(module, "operation", None)
    if module is None or operation is None:
        return [f"{where}: no video_api.paths.{module_name(path)}.{method}.operation"]
    problems: List[str] = []
    actual = (operation.method, operation.path, operation.name, operation.summary)
    wanted = (
        method.upper(),
        path,
        operation_method_name(spec["operationId"]),
        spec.get("summary", ""),
    )
    if actual != wanted:
        problems.append(f"{where}: declared (method, path, name, summary) {actual} != {wanted}")
    security = spec.get("security", contract.get("security", []))
    wanted_security = tuple(scheme for requirement in security for scheme in requirement)
    if tuple(operation.security) != wanted_security:
        problems.append(f"{where}: security {operation.security} != {wanted_security}")

    body = spec.get("requestBody")
    if body is not None:
        content_type, schema = json_schema(body["content"])
        model = model_for(ref_name(schema["$ref"]))
        alias = f"SchemaForRequestBody{content_type_suffix(content_type)}"
        if model is None or operation.request_model is not model:
            problems.append(f"{where}: request model {operation.request_model} != {model}")
        if getattr(module, alias, None) is not model:
            problems.append(f"{where}: {alias} is not {model}")

    codes = {int(code) for code in spec.get("responses", {})}
    if set(operation.responses) != codes:
        problems.append(f"{where}: statuses {sorted(operation.responses)} != {sorted(codes)}")
    for code, response in spec.get("responses", {}).items():
        response_class = getattr(module, f"ApiResponseFor{code}", None)
        if response_class is None or operation.responses.get(int(code)) is not response_class:
            problems.append(f"{where}: responses[{code}] is not ApiResponseFor{code}")
            continue
        if "content" not in response:
            if response_class.body_model is not None:
                problems.append(f"{where}: {code} has no body, declared {response_class}")
            continue
        content_type, schema = json_schema(response["content"])
        model = model_for(ref_name(schema["$ref"]))
        if model is None or response_class.body_model is not model:
            problems.append(f"{where}: {code} body {response_class.body_model} != {model}")
        alias = f"SchemaFor{code}ResponseBody{content_type_suffix(content_type)}"
        if getattr(module, alias, None) is not model:
            problems.append(f"{where}: {alias} is not {model}")
    return problems


def facade_problems(contract: Dict[str, Any]) -> List[str]:
    """What the API classes (by path and by tag) lack, or have beyond the contract."""
    problems: List[str] = []
    paths = set(contract.get("paths", {}))
    declared_paths = {getattr(key, "value", key) for key in path_to_api}
    if declared_paths != paths:
        problems.append(f"path_to_api covers {sorted(declared_paths)}, contract {sorted(paths)}")
    declared_tags = {getattr(key, "value", key) for key in tag_to_api}
    if declared_tags != tags(contract):
        problems.append(f"tag_to_api covers {sorted(declared_tags)}, contract {tags(contract)}")
    by_path = {getattr(key, "value", key): api for key, api in path_to_api.items()}
    by_tag = {getattr(key, "value", key): api for key, api in tag_to_api.items()}
    for path, method, spec in operations(contract):
        where = f"{method.upper()} {path}"
        path_api = by_path.get(path)
        if path_api is None or not callable(getattr(path_api, method, None)):
            problems.append(f"{where}: no path API with a .{method}() method")
        name = operation_method_name(spec["operationId"])
        for tag in spec.get("tags", []):
            api = by_tag.get(tag)
            if api is None or api.__name__ != tag_api_name(tag):
                problems.append(f"{where}: tag {tag!r} has no {tag_api_name(tag)}")
                continue
            function = getattr(api, name, None)
            if not callable(function):
                problems.append(f"{where}: {api.__name__} has no {name}()")
            elif f"{method.upper()} {path}" not in (function.__doc__ or ""):
                problems.append(f"{where}: {api.__name__}.{name} documents another operation")
    return problems


def model_set_problems(contract: Dict[str, Any]) -> List[str]:
    """video_api.models exports exactly one model per contract schema."""
    wanted = {class_name(name) for name in schema_names(contract)}
    exported = set(models.__all__)
    return [] if exported == wanted else [f"models exports {sorted(exported)}, want {wanted}"]


# -- the tests against the real contract -----------------------------------------------------


def test_contract_is_the_one_under_test() -> None:
    """The YAML loads and has what the checks below iterate over; an empty parse cannot pass."""
    assert CONTRACT["openapi"].startswith("3.")
    assert schema_names(CONTRACT)
    assert operations(CONTRACT)


@pytest.mark.parametrize("name", schema_names(CONTRACT))
def test_model_matches_schema(name: str) -> None:
    """Wire names, types, required set and defaults of the model are the contract's."""
    assert schema_problems(CONTRACT, name) == []


def test_models_module_exports_exactly_the_contract_schemas() -> None:
    """No schema without its model, no model without its schema."""
    assert model_set_problems(CONTRACT) == []


@pytest.mark.parametrize(
    "path, method", [(path, method) for path, method, _ in operations(CONTRACT)]
)
def test_operation_matches_contract(path: str, method: str) -> None:
    """Method, path, name, request model and response classes by status are the contract's."""
    assert operation_problems(CONTRACT, path, method) == []


def test_facades_cover_every_path_tag_and_operation() -> None:
    """path_to_api and tag_to_api cover every path and tag; each operationId has its method."""
    assert facade_problems(CONTRACT) == []


def test_documented_names_are_in_the_contract() -> None:
    """The two documented facade methods are what the contract's operationIds map to."""
    names = {operation_method_name(spec["operationId"]) for _, _, spec in operations(CONTRACT)}
    assert {"p_ost_auth_api_key", "p_ost_auth_refresh"} <= names


def test_default_host_is_the_contract_server() -> None:
    """Configuration() talks to the server the contract names."""
    assert [server["url"] for server in CONTRACT["servers"]] == [video_api.Configuration().host]


def test_environments_are_the_contract_base_paths() -> None:
    """x-client-base-paths is exactly ENVIRONMENTS, and each name selects its host."""
    base_paths = CONTRACT["x-client-base-paths"]
    assert base_paths == ENVIRONMENTS
    for name, url in base_paths.items():
        assert video_api.Configuration(environment=name).host == url


def required_body(contract: Dict[str, Any], spec: Dict[str, Any]) -> Dict[str, Any]:
    """A request body with each required property of the contract's schema, by wire name."""
    _, schema = json_schema(spec["requestBody"]["content"])
    body_schema = contract["components"]["schemas"][ref_name(schema["$ref"])]
    properties = body_schema.get("properties", {})
    return {wire: SAMPLES[properties[wire]["type"]] for wire in body_schema.get("required", [])}


@pytest.mark.parametrize(
    "path, method", [(path, method) for path, method, _ in operations(CONTRACT)]
)
def test_facade_methods_send_the_contract_request(
    path: str, method: str, client: video_api.ApiClient, emulator: Emulator
) -> None:
    """Each facade method (by tag and by path) sends the contract's method, path and body."""
    spec = CONTRACT["paths"][path][method]
    body = required_body(CONTRACT, spec)
    by_tag = {getattr(key, "value", key): api for key, api in tag_to_api.items()}
    by_path = {getattr(key, "value", key): api for key, api in path_to_api.items()}
    calls = [getattr(by_path[path](client), method)]
    calls += [
        getattr(by_tag[tag](client), operation_method_name(spec["operationId"]))
        for tag in spec.get("tags", [])
    ]
    for call in calls:
        emulator.clear()
        try:
            call(body=body)
        except video_api.ApiException as error:  # a made-up credential may be refused
            assert error.status is not None and 400 <= error.status < 500
        assert len(emulator.requests) == 1
        sent = emulator.requests[0]
        assert (sent.method, sent.path) == (method.upper(), path)
        assert sent.json() == body


# -- the checks catch drift -------------------------------------------------------------------


def altered(change: Any) -> Dict[str, Any]:
    contract = copy.deepcopy(CONTRACT)
    change(contract)
    return contract


def test_checker_catches_a_new_property() -> None:
    """A property added to a schema and not to the model is reported."""
    contract = altered(
        lambda c: c["components"]["schemas"]["access-token"]["properties"].update(
            scope={"type": "string"}
        )
    )
    assert any("scope" in p for p in schema_problems(contract, "access-token"))


def test_checker_catches_a_changed_type_default_or_required_set() -> None:
    """Changing a type, a default or what is required is reported."""
    schemas = "components", "schemas"

    def retype(c: Dict[str, Any]) -> None:
        c[schemas[0]][schemas[1]]["access-token"]["properties"]["expires_in"]["type"] = "string"

    def redefault(c: Dict[str, Any]) -> None:
        c[schemas[0]][schemas[1]]["access-token"]["properties"]["token_type"]["default"] = "mac"

    def require(c: Dict[str, Any]) -> None:
        c[schemas[0]][schemas[1]]["bad-request"]["required"] = ["title"]

    assert any("expires_in" in p for p in schema_problems(altered(retype), "access-token"))
    assert any("default" in p for p in schema_problems(altered(redefault), "access-token"))
    assert any("required" in p for p in schema_problems(altered(require), "bad-request"))


def test_checker_catches_a_new_schema() -> None:
    """A schema without a model is reported by both the schema and the export checks."""
    contract = altered(
        lambda c: c["components"]["schemas"].update(
            {"video-status": {"type": "object", "properties": {}}}
        )
    )
    assert schema_problems(contract, "video-status") != []
    assert model_set_problems(contract) != []


def test_checker_catches_a_new_endpoint() -> None:
    """An endpoint added to the contract without its declaration fails every check that
    looks at operations and facades."""
    new_operation = copy.deepcopy(CONTRACT["paths"]["/auth/refresh"]["post"])
    new_operation.update(operationId="POST_auth-revoke", tags=["Authentication"])
    contract = altered(lambda c: c["paths"].update({"/auth/revoke": {"post": new_operation}}))
    assert ("/auth/revoke", "post") in [(p, m) for p, m, _ in operations(contract)]
    assert operation_problems(contract, "/auth/revoke", "post") != []
    problems = facade_problems(contract)
    assert any("path_to_api" in p for p in problems)
    assert any("p_ost_auth_revoke" in p for p in problems)


def test_checker_catches_a_new_tag_or_status() -> None:
    """A status code or tag the package does not declare is reported."""
    extra_status = altered(
        lambda c: c["paths"]["/auth/api-key"]["post"]["responses"].update(
            {"429": {"description": "Too Many Requests"}}
        )
    )
    assert any("statuses" in p for p in operation_problems(extra_status, "/auth/api-key", "post"))
    extra_tag = altered(lambda c: c["paths"]["/auth/api-key"]["post"]["tags"].append("Videos"))
    assert any("tag_to_api" in p for p in facade_problems(extra_tag))


def test_checker_catches_a_changed_response_model() -> None:
    """A status whose body schema changes is reported."""

    def swap(c: Dict[str, Any]) -> None:
        media = c["paths"]["/auth/api-key"]["post"]["responses"]["400"]["content"]
        media["application/json"]["schema"] = {"$ref": "#/components/schemas/access-token"}

    assert any("400" in p for p in operation_problems(altered(swap), "/auth/api-key", "post"))
