"""scripts/unasync.py: payi_sync is what it generates, and it follows the async core."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import inspect
import re
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import payi_async
import payi_sync
from payi_async import AsyncPager
from payi_async._resources import AsyncCategories, AsyncResources, _Resource

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def unasync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", ROOT / "scripts" / "unasync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["unasync"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_facade_is_what_the_generator_writes(unasync: ModuleType) -> None:
    assert unasync.main(["--check"]) == 0


HAND_WRITTEN = {"_base.py", "_pages.py", "_portal.py", "_response.py"}


def test_generated_files_carry_the_header_and_an_intact_hash(unasync: ModuleType) -> None:
    folder = Path(payi_sync.__file__).parent
    generated = set(unasync.generate())
    assert generated == {"__init__.py", "_client.py", "_resources.py", "_views.py"}
    for name in generated:
        text = (folder / name).read_text()
        assert unasync.is_generated(text), name
        assert not unasync.is_edited(text), name
    for name in HAND_WRITTEN:
        assert not unasync.is_generated((folder / name).read_text()), name


def test_check_reports_edits_stale_and_missing_files_not_hand_written_ones(
    unasync: ModuleType, tmp_path: Path
) -> None:
    files = unasync.generate()
    copy = tmp_path / "payi_sync"
    shutil.copytree(Path(payi_sync.__file__).parent, copy)
    assert unasync.differences(files, copy) == []

    (copy / "_resources.py").write_text(files["_resources.py"] + "\n# hand edit\n")
    (copy / "_extra.py").write_text("x = 1\n")  # hand-written: not the generator's business
    (copy / "_gone.py").write_text(unasync.with_header('"""Was generated once."""\n'))
    (copy / "_client.py").unlink()
    problems = unasync.differences(files, copy)
    assert any("_resources.py was edited by hand" in p for p in problems)
    assert "stale generated file payi_sync/_gone.py" in problems
    assert "missing file payi_sync/_client.py" in problems
    assert any(p.startswith("---") and "-# hand edit" in p for p in problems)  # and the diff
    assert not any("_extra.py" in p for p in problems)
    assert len(problems) == 4


def test_check_shows_a_diff_when_the_async_core_changed(
    unasync: ModuleType, tmp_path: Path
) -> None:
    files = unasync.generate()
    folder = tmp_path / "out"
    unasync.write(files, folder)
    changed = dict(files, **{"_client.py": unasync.with_header('"""Older output."""\n')})
    unasync.write(changed, tmp_path / "older")
    problems = unasync.differences(files, tmp_path / "older")
    assert len(problems) == 1 and "Older output" in problems[0] and problems[0].startswith("---")


def test_write_never_deletes_hand_written_files(unasync: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "payi_sync"
    shutil.copytree(Path(payi_sync.__file__).parent, folder)
    (folder / "_mine.py").write_text("MINE = 1\n")
    (folder / "_gone.py").write_text(unasync.with_header('"""Was generated once."""\n'))
    before = {n: (folder / n).read_text() for n in [*HAND_WRITTEN, "_mine.py", "py.typed"]}
    unasync.write(unasync.generate(), folder)
    for name, text in before.items():
        assert (folder / name).read_text() == text, name
    assert not (folder / "_gone.py").exists()  # a generated file no longer generated goes
    assert unasync.differences(unasync.generate(), folder) == []


def test_write_refuses_a_hand_edited_generated_file(unasync: ModuleType, tmp_path: Path) -> None:
    files = unasync.generate()
    folder = tmp_path / "payi_sync"
    unasync.write(files, folder)
    edited = files["_client.py"].replace("def with_options(", "def with_options_(")
    (folder / "_client.py").write_text(edited)
    (folder / "_resources.py").unlink()
    with pytest.raises(SystemExit, match=r"payi_sync/_client.py was edited by hand"):
        unasync.write(files, folder)
    assert (folder / "_client.py").read_text() == edited  # kept as it was
    assert not (folder / "_resources.py").exists()  # and nothing else written


def test_write_refuses_to_overwrite_a_hand_written_file(
    unasync: ModuleType, tmp_path: Path
) -> None:
    folder = tmp_path / "payi_sync"
    folder.mkdir()
    (folder / "_client.py").write_text("HAND = True\n")
    with pytest.raises(SystemExit, match=r"_client.py is hand-written"):
        unasync.write(unasync.generate(), folder)
    assert (folder / "_client.py").read_text() == "HAND = True\n"


def test_no_payi_sync_module_imports_a_private_payi_async_name() -> None:
    folder = Path(payi_sync.__file__).parent
    checked = 0
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                if node.module == "payi_async":
                    assert all(
                        not a.name.startswith("_") or a.name == "__version__" for a in node.names
                    ), path
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            checked += 1
            for module in modules:
                assert not module.startswith("payi_async._"), (path.name, module)
                assert not module.startswith("payi_async.") or module == "payi_async", module
    assert checked > 10


@pytest.mark.parametrize(
    ("async_cls", "sync_cls"),
    [
        (AsyncResources, payi_sync.Resources),
        (AsyncCategories, payi_sync.Categories),
        (payi_async.AsyncPayi, payi_sync.Payi),
    ],
)
def test_sync_methods_mirror_async_signatures_and_docs(async_cls: type, sync_cls: type) -> None:
    public = [n for n in vars(async_cls) if not n.startswith("_")]
    assert public
    for name in public:
        member = inspect.getattr_static(async_cls, name)
        if not callable(member) and not isinstance(member, property):
            continue
        mirrored = getattr(sync_cls, name)
        if isinstance(member, property):
            assert isinstance(inspect.getattr_static(sync_cls, name), property)
            continue
        a = inspect.signature(member)
        s = inspect.signature(mirrored)
        assert list(a.parameters) == list(s.parameters), name
        for pa, ps in zip(a.parameters.values(), s.parameters.values(), strict=True):
            assert pa.kind == ps.kind, (name, pa.name)
            assert pa.default == ps.default, (name, pa.name)
        assert inspect.getdoc(mirrored), name
        assert "await" not in (inspect.getdoc(mirrored) or ""), name


def test_constructor_mirrors_async_constructor() -> None:
    a = inspect.signature(payi_async.AsyncPayi.__init__)
    s = inspect.signature(payi_sync.Payi.__init__)
    assert [(p.name, p.kind, p.default) for p in a.parameters.values()] == [
        (p.name, p.kind, p.default) for p in s.parameters.values()
    ]


async def _ping(self: AsyncResources, name: str, *, loud: bool = False) -> str:
    """Say hello back."""
    return name.upper() if loud else name


def test_a_new_async_method_appears_without_hand_edits(
    unasync: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AsyncResources, "ping", _ping, raising=False)
    source = unasync.generate()["_resources.py"]
    assert "def ping(self, name: str, *, loud: bool = False) -> str:" in source
    assert '"""Say hello back."""' in source
    assert "return self._portal.call(self._async.ping, name=name, loud=loud)" in source


def test_models_and_errors_are_the_same_classes() -> None:
    for name in ("CategoryResourceResponse", "Units", "NotFoundError", "APIStatusError"):
        assert getattr(payi_sync, name) is getattr(payi_async, name)
    assert set(payi_sync.__all__) >= {"Payi", "SyncCursorPage", "NotFoundError"}


def test_response_views_are_a_generated_property_kind(unasync: ModuleType) -> None:
    from payi_sync import _views
    from payi_sync._response import ResponseView

    files = unasync.generate()
    for out, owners in (("_resources.py", ("Resources", "Categories")), ("_client.py", ("Payi",))):
        source = files[out]
        for name, kind in (
            ("with_raw_response", "WithRawResponse"),
            ("with_streaming_response", "WithStreamingResponse"),
        ):
            # Each property answers the typed ResponseView subclass generated for it.
            for owner in owners:
                view = owner + kind
                assert issubclass(getattr(_views, view), ResponseView)
                assert f"def {name}(self) -> {view}:" in source
                assert f"return {view}(self._async.{name}, self._portal)" in source
        assert "from ._views import" in source
        assert "AsyncResponseView" not in source
        assert "async with" not in source and "await " not in source


def test_a_new_response_method_needs_no_blocking_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # The blocking view wraps whatever the async view offers: nothing per method.
    monkeypatch.setattr(AsyncResources, "_response_methods", frozenset({"retrieve", "ping"}))
    monkeypatch.setattr(AsyncResources, "ping", _ping, raising=False)
    with payi_sync.Payi(api_key="k", base_url="http://127.0.0.1:9") as client:
        view = client.categories.resources.with_raw_response
        assert callable(view.ping)
        assert view.ping.__doc__ == "Say hello back."
        with pytest.raises(AttributeError):
            view.list  # noqa: B018


@pytest.mark.parametrize(
    ("cls", "name", "kind"),
    [
        (AsyncResources, "create", "call"),
        (AsyncResources, "plan", "call"),
        (AsyncResources, "apply", "call"),
        (AsyncResources, "resolve", "call"),
        (AsyncCategories, "delete_resource", "call"),
        (AsyncResources, "create_many", "bulk call"),
        (AsyncResources, "list", "pager"),
        (AsyncCategories, "list_resources", "pager"),
        (payi_async.AsyncPayi, "with_options", "client copy"),
        (AsyncResources, "with_raw_response", "wrapped property"),
        (payi_async.AsyncPayi, "with_streaming_response", "wrapped property"),
        (payi_async.AsyncPayi, "base_url", "value property"),
        (payi_async.AsyncPayi, "timeout", "value property"),
    ],
)
def test_each_member_is_of_exactly_one_kind(
    unasync: ModuleType, cls: type, name: str, kind: str
) -> None:
    member = unasync._member(cls, name, inspect.getattr_static(cls, name))
    assert [k.name for k in unasync.KINDS if k.matches(member)] == [kind]


def test_each_kind_writes_its_own_body(unasync: ModuleType) -> None:
    files = unasync.generate()
    resources, client = files["_resources.py"], files["_client.py"]
    # call
    assert "return self._portal.call(self._async.resolve, category=category," in resources
    # bulk call: a plain iterable only
    assert "items: Iterable[ResourceCreate | Mapping[str, Any]],\n" in resources
    assert "if isinstance(items, AsyncIterable):" in resources
    # pager
    assert (
        "return SyncCursorPage.first(\n            self._portal,\n            self._async.list("
        in (resources)
    )
    # client copy
    assert "clone._setup(\n            self._async.with_options(" in client
    assert "self._root or self" in client
    # value property
    assert "def base_url(self) -> str:" in client
    assert "return self._async.base_url" in client


def test_defaults_keep_their_constant_names(unasync: ModuleType) -> None:
    source = unasync.generate()["_client.py"]
    assert "max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES," in source
    assert "timeout: float | Timeout = DEFAULT_TIMEOUT," in source
    assert "timeout: float | Timeout | NotGiven = NOT_GIVEN," in source
    assert str(payi_async.DEFAULT_MAX_RESPONSE_BYTES) not in source
    assert "max_retries: int | RetryPolicy = 2," in source  # a literal stays a literal


def test_the_formatter_is_pinned_to_the_installed_version() -> None:
    pinned = re.search(r'"ruff==([0-9][0-9.]*)"', (ROOT / "pyproject.toml").read_text())
    assert pinned is not None
    assert importlib.metadata.version("ruff") == pinned.group(1)


async def _stream(self: AsyncResources, name: str) -> AsyncIterator[str]:
    """Stream names."""
    yield name


def _events(self: AsyncResources) -> AsyncIterator[str]:
    """Events as they come."""
    raise NotImplementedError


async def _pages(self: AsyncResources) -> AsyncPager[str]:
    """A pager behind an await."""
    raise NotImplementedError


def _ticket(self: AsyncResources) -> Awaitable[int]:
    """An awaitable ticket."""
    raise NotImplementedError


async def _watch(self: AsyncResources, on_event: Callable[[str], Awaitable[None]]) -> str:
    """Calls back asynchronously."""
    return ""


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_stream, r"AsyncResources\.stray is an async generator method, which no kind"),
        (_events, r"AsyncResources\.stray is a plain method returning .*AsyncIterator"),
        (_pages, r"AsyncResources\.stray is a coroutine method returning .*AsyncPager"),
        (property(_ticket), r"AsyncResources\.stray is a property returning .*Awaitable"),
        (_watch, r"AsyncResources\.stray is a method whose parameter 'on_event' takes Awaitable"),
    ],
    ids=["async-generator", "async-iterator", "awaited-pager", "awaitable-property", "async-cb"],
)
def test_a_member_of_no_kind_fails_generation_naming_it(
    unasync: ModuleType, monkeypatch: pytest.MonkeyPatch, member: Any, message: str
) -> None:
    monkeypatch.setattr(AsyncResources, "stray", member, raising=False)
    with pytest.raises(SystemExit, match=message) as caught:
        unasync.generate()
    assert "Known kinds: call" in str(caught.value)
    # `make generate` and `make test`'s check stop on it before writing anything.
    with pytest.raises(SystemExit, match=message):
        unasync.main(["--check"])


_HIDDEN = object()


async def _hidden_default(self: AsyncResources, mode: object = _HIDDEN) -> str:
    """A default payi_async does not export."""
    return ""


async def _computed_default(self: AsyncResources, size: int = 2 * 8) -> str:
    """A default written as an expression."""
    return ""


async def _private_type(self: AsyncResources, other: _Resource) -> str:
    """Takes a type payi_async does not export."""
    return ""


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_hidden_default, r"AsyncResources\.stray\(mode\): the default _HIDDEN is not a literal"),
        (_computed_default, r"AsyncResources\.stray\(size\): the default 2 \* 8 is not a literal"),
        (_private_type, r"AsyncResources\.stray: '_Resource' is not exported by payi_async"),
    ],
    ids=["unexported-default", "expression-default", "private-type"],
)
def test_generated_code_needs_public_names_or_generation_fails(
    unasync: ModuleType, monkeypatch: pytest.MonkeyPatch, member: Any, message: str
) -> None:
    monkeypatch.setattr(AsyncResources, "stray", member, raising=False)
    with pytest.raises(SystemExit, match=message):
        unasync.generate()


def test_a_blocking_create_many_refuses_an_async_iterable_before_any_request() -> None:
    class Rows:
        def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
            raise AssertionError("never read")

    client = payi_sync.Payi(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    try:
        with pytest.raises(TypeError, match=r"create_many: items must be a plain iterable"):
            client.categories.resources.create_many(Rows())  # type: ignore[arg-type]
    finally:
        client.close()


def test_blocking_calls_document_where_callbacks_and_iterators_run() -> None:
    doc = inspect.getdoc(payi_sync.Resources.create_many) or ""
    assert "``items`` must be a plain iterable" in doc
    flat = " ".join(doc.split())
    assert "``on_progress`` and ``idempotency_key`` are called on the client's event-loop" in flat
    assert "``items`` is read" in flat
    assert "event-loop thread" in " ".join(
        (inspect.getdoc(payi_sync.Resources.apply) or "").split()
    )
    assert "event-loop" not in (inspect.getdoc(payi_sync.Resources.retrieve) or "")
