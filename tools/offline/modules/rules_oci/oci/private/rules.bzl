"""The stand-in's rules; oci/defs.bzl wraps them in rules_oci's macros.

Each rule has rules_oci 2.2.6's attributes and outputs, and its actions
produce what upstream's scripts produce; //conformance tests that they do.
"""

load("@bazel_features//:features.bzl", "bazel_features")

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
    # image.bzl's own words.
    if not ctx.attr.base and (not ctx.attr.os or not ctx.attr.architecture):
        fail("'os' and 'architecture' are mandatory when 'base' is unspecified.")
    if ctx.attr.base and (ctx.attr.os or ctx.attr.architecture or ctx.attr.variant):
        fail("'os', 'architecture' and 'variant' come from the image provided by 'base' and cannot be overridden.")
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("image")
    args.add("-out", out.path)
    inputs = list(ctx.files.tars)

    # The files the layout's symlinked blobs point at: its tars and the
    # base's, inputs of the action and runfiles of the image (image.bzl:
    # 170-190, 270-272). Upstream's condition for symlinks (image.bzl:151).
    use_symlinks = bazel_features.rules.permits_treeartifact_uplevel_symlinks
    linked = []
    if use_symlinks:
        args.add("-symlinks")
        linked.append(depset(ctx.files.tars))
    if ctx.attr.base:
        args.add("-base", ctx.file.base.path)
        inputs.append(ctx.file.base)
        if use_symlinks:
            linked.append(ctx.attr.base[DefaultInfo].default_runfiles.files)
    for layer in ctx.files.tars:
        # The history's created_by names the target that made the tar, as
        # Args renders a Label (image.bzl:113, descriptor.sh:43-46).
        args.add("-tar", layer)
        args.add("-owner", layer.owner)
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
        ("-variant", ctx.attr.variant),
    ]:
        if value:
            args.add(flag, value)
    linked = depset(transitive = linked)
    ctx.actions.run(
        executable = ctx.executable._ocitool,
        arguments = [args],
        inputs = depset(inputs, transitive = [linked]),
        outputs = [out],
        mnemonic = "OCIImage",
        progress_message = "OCI Image %{label}",
    )
    return DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(transitive_files = linked))

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
        # zstd layers (.tar.zst, .tzst), which upstream also takes, are
        # not provided.
        "tars": attr.label_list(allow_files = [".tar", ".tar.gz", ".tgz"]),
        "user": attr.string(),
        "variant": attr.string(),
        "workdir": attr.string(),
        "_ocitool": _TOOL_EXEC,
    },
)

def _image_index_transition_impl(settings, attr):
    # No platforms: the images as they are, in the configuration asked for.
    if not attr.platforms:
        return [settings]
    return [{"//command_line_option:platforms": str(p)} for p in attr.platforms]

# image_index.bzl: each image once per platform, when platforms is set.
_image_index_transition = transition(
    implementation = _image_index_transition_impl,
    inputs = ["//command_line_option:platforms"],
    outputs = ["//command_line_option:platforms"],
)

def _image_index_impl(ctx):
    if ctx.attr.platforms and len(ctx.attr.images) != len(ctx.attr.platforms):
        fail("platforms can only be specified when there is exactly one image in the images attribute.")
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("index")
    args.add("-out", out.path)
    args.add_all(ctx.files.images, before_each = "-image", expand_directories = False)

    # The images' symlinked blobs point at their runfiles (oci_image above).
    linked = depset(transitive = [image[DefaultInfo].default_runfiles.files for image in ctx.attr.images])
    ctx.actions.run(
        executable = ctx.executable._ocitool,
        arguments = [args],
        inputs = depset(ctx.files.images, transitive = [linked]),
        outputs = [out],
        mnemonic = "OCIIndex",
        progress_message = "OCI Index %{label}",
    )

    # The index's blobs are copies, so it needs no runfiles.
    return DefaultInfo(files = depset([out]))

oci_image_index_rule = rule(
    doc = "An OCI layout of an image index: each image's manifest with its platform.",
    implementation = _image_index_impl,
    attrs = {
        "images": attr.label_list(mandatory = True, cfg = _image_index_transition, doc = "oci_image targets"),
        "platforms": attr.label_list(providers = [platform_common.PlatformInfo]),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
        "_ocitool": _TOOL_EXEC,
    },
)

def _digest_impl(ctx):
    ctx.actions.run_shell(
        command = '"$1" index-digest "$2" >"$3"',
        arguments = [ctx.executable._ocitool.path, ctx.file.image.path, ctx.outputs.out.path],
        tools = [ctx.executable._ocitool],
        inputs = [ctx.file.image],
        outputs = [ctx.outputs.out],
        mnemonic = "OCIDigest",
    )
    return DefaultInfo(files = depset([ctx.outputs.out]))

oci_digest = rule(
    doc = "jq -r '.manifests[0].digest' of the layout's index.json: rules_oci's <image>.digest.",
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

def _load_impl(ctx):
    if ctx.attr.format != "docker":
        fail("the offline stand-in writes format = \"docker\" tarballs only")
    executable = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.expand_template(
        template = ctx.file._template,
        output = executable,
        is_executable = True,
        substitutions = {
            "{{image}}": _rlocation(ctx, ctx.file.image),
            "{{loader}}": _rlocation(ctx, ctx.file.loader) if ctx.file.loader else "",
            "{{ocitool}}": _rlocation(ctx, ctx.executable._ocitool),
            "{{repo_tags}}": _rlocation(ctx, ctx.file.repo_tags),
        },
    )
    files = [ctx.file.image, ctx.file.repo_tags, ctx.executable._ocitool]
    if ctx.file.loader:
        files.append(ctx.file.loader)
    image_runfiles = ctx.attr.image[DefaultInfo].default_runfiles
    runfiles = ctx.runfiles(files = files).merge_all([
        image_runfiles,
        ctx.attr._runfiles[DefaultInfo].default_runfiles,
    ])

    # Built only on request (--output_groups=+tarball), as upstream: a
    # tarball per build would only fill the caches.
    tarball = ctx.actions.declare_file(ctx.label.name + "/tarball.tar")
    ctx.actions.run(
        executable = ctx.executable._ocitool_exec,
        arguments = ["tarball", "-image", ctx.file.image.path, "-repo-tags", ctx.file.repo_tags.path, "-out", tarball.path],
        inputs = depset([ctx.file.image, ctx.file.repo_tags], transitive = [image_runfiles.files]),
        outputs = [tarball],
        mnemonic = "OCITarball",
    )
    return [
        DefaultInfo(executable = executable, runfiles = runfiles),
        OutputGroupInfo(tarball = depset([tarball])),
    ]

oci_load_rule = rule(
    doc = "bazel run: loads the image into the container CLI's engine under repo_tags.",
    implementation = _load_impl,
    executable = True,
    attrs = {
        "format": attr.string(default = "docker", values = ["docker", "oci"]),
        "image": attr.label(allow_single_file = True, mandatory = True),
        "loader": attr.label(allow_single_file = True, cfg = "target", executable = True),
        "repo_tags": attr.label(allow_single_file = [".txt"], mandatory = True),
        "_ocitool": _TOOL_TARGET,
        "_ocitool_exec": _TOOL_EXEC,
        "_runfiles": _RUNFILES_LIB,
        "_template": attr.label(default = Label("//oci/private:load.sh.tpl"), allow_single_file = True),
    },
)

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _push_impl(ctx):
    repository = ctx.attr.repository
    if not repository:
        fail("oci_push needs `repository` (the stand-in has no repository_file)")
    if "@" in repository or ":" in repository.split("/")[-1]:
        fail("`repository` attribute should not contain digest or tag. got: {}".format(repository))
    executable = ctx.actions.declare_file("push_%s.sh" % ctx.label.name)
    files = [ctx.file.image, ctx.executable._ocitool]
    if ctx.file.remote_tags:
        files.append(ctx.file.remote_tags)
    ctx.actions.expand_template(
        template = ctx.file._template,
        output = executable,
        is_executable = True,
        substitutions = {
            "{{crane_path}}": ctx.executable._ocitool.short_path,
            "{{fixed_args}}": " ".join([_shell_quote(a) for a in ["--repository", repository]]),
            "{{image_dir}}": ctx.file.image.short_path,
            "{{tags}}": ctx.file.remote_tags.short_path if ctx.file.remote_tags else "",
        },
    )
    runfiles = ctx.runfiles(files = files).merge(ctx.attr.image[DefaultInfo].default_runfiles)
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
        "_template": attr.label(default = Label("//oci/private:push.sh.tpl"), allow_single_file = True),
    },
)
