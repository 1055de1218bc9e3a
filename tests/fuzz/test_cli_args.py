"""Random command lines through ``honed.cli.main`` (in this process): the exit code is 0,
1 or 2 with a message, never a traceback and never an "unexpected error" (a bug)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import honed
from honed.cli import main
from tests.fuzz._settings import fuzz

HOSTILE = "[/bold]\x1b]0;t\x07"
# No "/" at the start of anything: nothing may write outside the test's folder.
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\"),
    max_size=12,
)
storages = st.one_of(
    st.sampled_from(
        [
            "honed.db",
            "sqlite:///honed.db",
            "missing.db",
            "sqlite:///missing.db",
            "sqlite:/honed.db",
            "sqlite://honed.db",
            "postgres://nobody@localhost/x",
            "mysql://x/y",
            "sqlite:///",
            "",
            "notes.txt",
            "a://b:c",
        ]
    ),
    text,
)
studies = st.one_of(st.sampled_from(["s", "nope", HOSTILE, "", "-", "--"]), text)
options = st.one_of(
    st.tuples(st.just("--storage"), storages),
    st.tuples(st.just("--limit"), st.one_of(st.integers(-5, 10**20).map(str), text)),
    st.tuples(st.just("--sort"), st.sampled_from(["number", "value", "x", ""])),
    st.tuples(st.just("--format"), st.sampled_from(["csv", "json", "xml"])),
    st.tuples(st.just("-o"), st.sampled_from(["out.csv", "no/such/dir/out.json", "", "."])),
    st.tuples(st.just("--method"), st.sampled_from(["fanova", "ped-anova", "magic"])),
    st.tuples(st.just("--objective"), st.sampled_from(["0", "1", "-1", "x", "99999999999"])),
    st.tuples(st.sampled_from(["--json", "--yes", "--help", "--nope", "-x"])),
    st.tuples(text),
)
commands = st.sampled_from(
    ["studies", "show", "export", "delete", "importance", "--help", "", "stud1es", "demo --help"]
)


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    argv = draw(commands).split()
    if argv and argv[0] in ("show", "export", "delete", "importance") and draw(st.booleans()):
        argv.append(draw(studies))
    for opt in draw(st.lists(options, max_size=4)):
        argv.extend(opt)
    if "--storage" not in argv and draw(st.booleans()):
        argv += ["--storage", "honed.db"]
    return argv


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-fuzz")
    for name in ("s", HOSTILE):
        study = honed.create_study(name, storage=d / "honed.db", sampler="random", seed=1)
        study.optimize(lambda t: t.float("x", 0, 1) + t.int("k", 1, 3), n_trials=4)
        study.storage.close()
    (d / "notes.txt").write_text("not a database")
    return d


@pytest.mark.slow
@fuzz(250)
@given(argvs())
@example(["show", "s", "--storage", "honed.db"])
@example(["export", HOSTILE, "--format", "json", "--storage", "sqlite:///honed.db"])
@example(["studies", "--storage", "sqlite:/honed.db"])
@example(["importance", "s", "--method", "ped-anova", "--storage", "honed.db"])
def test_random_command_lines_end_with_a_message_not_a_traceback(
    folder, monkeypatch, capsys, argv
) -> None:
    monkeypatch.chdir(folder)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        code = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in out + err, (argv, err)
    assert "unexpected error" not in err, (argv, err)  # a bug the CLI caught for us
    if code == 2:
        assert err.strip(), argv  # every refusal says why
    assert "\x1b]0;" not in out + err  # the hostile study's escape never reaches the terminal
