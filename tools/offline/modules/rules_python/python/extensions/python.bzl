"""rules_python 0.31.0's python extension, offline.

The tag and the root-module rules are 0.31.0's
(python/private/bzlmod/python.bzl): only the root module's
ignore_root_user_error counts, its toolchain tags must agree on it, and with
no root tag it is False. The refusal is 0.31.0's
(python/repositories.bzl, _python_repository_impl).
"""

_ROOT_ERROR = "The current user is root, please run as non-root when using the hermetic Python interpreter. See https://github.com/bazelbuild/rules_python/pull/713."

def _hub_impl(rctx):
    if not rctx.attr.ignore_root_user_error:
        uid = rctx.execute(["id", "-u"]).stdout.strip()
        if uid == "0":
            fail(_ROOT_ERROR)
    python3 = rctx.which("python3")
    if not python3:
        fail("no python3 on PATH for the offline Python toolchain")
    rctx.file("BUILD.bazel", """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

py_runtime(
    name = "python3_runtime",
    interpreter_path = "{python3}",
    python_version = "PY3",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":python3_runtime",
)

toolchain(
    name = "python_{version}",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""".format(python3 = python3, version = rctx.attr.python_version.replace(".", "_")))

_hub = repository_rule(
    implementation = _hub_impl,
    attrs = {
        "ignore_root_user_error": attr.bool(),
        "python_version": attr.string(),
    },
)

def _python_impl(mctx):
    ignore_root_user_error = None
    default_version = "3.11"
    for mod in mctx.modules:
        if not mod.is_root:
            continue
        for tag in mod.tags.toolchain:
            if ignore_root_user_error == None:
                ignore_root_user_error = tag.ignore_root_user_error
            elif ignore_root_user_error != tag.ignore_root_user_error:
                fail("Toolchains in the root module must have consistent 'ignore_root_user_error' attributes")
            if tag.is_default or len(mod.tags.toolchain) == 1:
                default_version = tag.python_version
    _hub(
        name = "pythons_hub",
        ignore_root_user_error = bool(ignore_root_user_error),
        python_version = default_version,
    )

python = module_extension(
    implementation = _python_impl,
    tag_classes = {
        "toolchain": tag_class(attrs = {
            "configure_coverage_tool": attr.bool(),
            "ignore_root_user_error": attr.bool(default = False),
            "is_default": attr.bool(),
            "python_version": attr.string(mandatory = True),
        }),
    },
)
