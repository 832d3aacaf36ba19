"""The stand-in's rules; oci/defs.bzl wraps them in rules_oci's macros."""

_TOOL_EXEC = attr.label(default = Label("//oci/private/ocitool"), cfg = "exec", executable = True)
_TOOL_TARGET = attr.label(default = Label("//oci/private/ocitool"), cfg = "target", executable = True)
_RUNFILES_LIB = attr.label(default = Label("@bazel_tools//tools/bash/runfiles"))

def _write_lines_impl(ctx):
    ctx.actions.write(ctx.outputs.out, "".join([line + "\n" for line in ctx.attr.content]))
    return DefaultInfo(files = depset([ctx.outputs.out]))

write_lines = rule(
    doc = "Writes content to out, one line each (bazel_skylib's write_file, which rules_oci uses).",
    implementation = _write_lines_impl,
    attrs = {
        "content": attr.string_list(),
        "out": attr.output(mandatory = True),
    },
)

def _image_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("image")
    args.add("-out", out.path)
    inputs = list(ctx.files.tars)
    if ctx.file.base:
        args.add("-base", ctx.file.base.path)
        inputs.append(ctx.file.base)
    args.add_all(ctx.files.tars, before_each = "-tar")
    for flag, f in [
        ("-entrypoint", ctx.file.entrypoint),
        ("-env", ctx.file.env),
        ("-labels", ctx.file.labels),
        ("-exposed-ports", ctx.file.exposed_ports),
    ]:
        if f:
            args.add(flag, f.path)
            inputs.append(f)
    for flag, value in [
        ("-user", ctx.attr.user),
        ("-workdir", ctx.attr.workdir),
        ("-os", ctx.attr.os),
        ("-architecture", ctx.attr.architecture),
    ]:
        if value:
            args.add(flag, value)
    ctx.actions.run(
        executable = ctx.executable._ocitool,
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "OCIImage",
        progress_message = "Building OCI image %{label}",
    )
    return DefaultInfo(files = depset([out]))

oci_image_rule = rule(
    doc = "An OCI image layout: base's layers plus tars, with the given config.",
    implementation = _image_impl,
    attrs = {
        "architecture": attr.string(),
        "base": attr.label(allow_single_file = True, doc = "an oci_image"),
        "entrypoint": attr.label(allow_single_file = True),
        "env": attr.label(allow_single_file = True),
        "exposed_ports": attr.label(allow_single_file = True),
        "labels": attr.label(allow_single_file = True),
        "os": attr.string(),
        "tars": attr.label_list(allow_files = [".tar", ".tar.gz", ".tgz"]),
        "user": attr.string(),
        "workdir": attr.string(),
        "_ocitool": _TOOL_EXEC,
    },
)

def _digest_impl(ctx):
    ctx.actions.run(
        executable = ctx.executable._ocitool,
        arguments = ["digest", "-image", ctx.file.image.path, "-out", ctx.outputs.out.path],
        inputs = [ctx.file.image],
        outputs = [ctx.outputs.out],
        mnemonic = "OCIDigest",
    )
    return DefaultInfo(files = depset([ctx.outputs.out]))

oci_digest = rule(
    doc = "The image's manifest digest, sha256:<hex>, as rules_oci's <image>.digest.",
    implementation = _digest_impl,
    attrs = {
        "image": attr.label(allow_single_file = True, mandatory = True),
        "out": attr.output(mandatory = True),
        "_ocitool": _TOOL_EXEC,
    },
)

def _rlocation(ctx, f):
    # Runfiles paths: <repository>/<path>; short_path starts with ../ outside
    # the main repository.
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path

# A bazel-run launcher that finds its files through the runfiles library, so
# it also works as another target's data (the Compose test runs it).
_LAUNCHER = """#!/usr/bin/env bash
# --- begin runfiles.bash initialization v3 ---
set -uo pipefail; set +e; f=bazel_tools/tools/bash/runfiles/runfiles.bash
source "${RUNFILES_DIR:-/dev/null}/$f" 2>/dev/null || \\
  source "$(grep -sm1 "^$f " "${RUNFILES_MANIFEST_FILE:-/dev/null}" | cut -f2- -d' ')" 2>/dev/null || \\
  source "$0.runfiles/$f" 2>/dev/null || \\
  source "$(grep -sm1 "^$f " "$0.runfiles_manifest" | cut -f2- -d' ')" 2>/dev/null || \\
  { echo>&2 "ERROR: cannot find $f"; exit 1; }; f=; set -e
# --- end runfiles.bash initialization v3 ---
exec "$(rlocation %s)" %s "$@"
"""

def _launcher(ctx, command, files, fixed_args = []):
    """Writes <name>.sh running `ocitool <command>` with files (flag, File) and fixed_args."""
    args = [command]
    for flag, f in files:
        args.append('%s "$(rlocation %s)"' % (flag, _rlocation(ctx, f)))
    args.extend(["'%s'" % a.replace("'", "'\\''") for a in fixed_args])
    executable = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        executable,
        _LAUNCHER % (_rlocation(ctx, ctx.executable._ocitool), " ".join(args)),
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [f for _, f in files] + [ctx.executable._ocitool])
    runfiles = runfiles.merge(ctx.attr._runfiles[DefaultInfo].default_runfiles)
    return executable, runfiles

def _load_impl(ctx):
    files = [("-image", ctx.file.image), ("-repo-tags", ctx.file.repo_tags)]
    executable, runfiles = _launcher(ctx, "load", files)

    # Built only on request (--output_groups=+tarball), as in rules_oci: a
    # tarball per build would only load the caches.
    tarball = ctx.actions.declare_file(ctx.label.name + "/tarball.tar")
    ctx.actions.run(
        executable = ctx.executable._ocitool_exec,
        arguments = ["tarball", "-image", ctx.file.image.path, "-repo-tags", ctx.file.repo_tags.path, "-out", tarball.path],
        inputs = [ctx.file.image, ctx.file.repo_tags],
        outputs = [tarball],
        mnemonic = "OCITarball",
    )
    return [
        DefaultInfo(executable = executable, runfiles = runfiles),
        OutputGroupInfo(tarball = depset([tarball])),
    ]

oci_load_rule = rule(
    doc = "bazel run: loads the image into Docker under repo_tags.",
    implementation = _load_impl,
    executable = True,
    attrs = {
        "image": attr.label(allow_single_file = True, mandatory = True),
        "repo_tags": attr.label(allow_single_file = [".txt"], mandatory = True),
        "_ocitool": _TOOL_TARGET,
        "_ocitool_exec": _TOOL_EXEC,
        "_runfiles": _RUNFILES_LIB,
    },
)

def _push_impl(ctx):
    repository = ctx.attr.repository
    if "@" in repository or ":" in repository.split("/")[-1]:
        fail("`repository` attribute should not contain digest or tag. got: {}".format(repository))
    files = [("-image", ctx.file.image)]
    if ctx.file.remote_tags:
        files.append(("-remote-tags", ctx.file.remote_tags))
    # Flags given at `bazel run` time come after these, and win.
    fixed_args = ["-repository", repository] if repository else []
    executable, runfiles = _launcher(ctx, "push", files, fixed_args)
    return DefaultInfo(executable = executable, runfiles = runfiles)

oci_push_rule = rule(
    doc = "bazel run: pushes the image to repository (or --repository) by digest, then tags it.",
    implementation = _push_impl,
    executable = True,
    attrs = {
        "image": attr.label(allow_single_file = True, mandatory = True),
        "remote_tags": attr.label(allow_single_file = True),
        "repository": attr.string(),
        "_ocitool": _TOOL_TARGET,
        "_runfiles": _RUNFILES_LIB,
    },
)
