"""rules_oci's public API, the subset listed in MODULE.bazel.

As in rules_oci, the macros accept dicts and lists where the rules take files,
and oci_image and oci_image_index also define <name>.digest.
"""

load(
    "//oci/private:rules.bzl",
    "oci_digest",
    "write_lines",
    _oci_image_index_rule = "oci_image_index_rule",
    _oci_image_rule = "oci_image_rule",
    _oci_load_rule = "oci_load_rule",
    _oci_push_rule = "oci_push_rule",
)

oci_image_rule = _oci_image_rule
oci_image_index_rule = _oci_image_index_rule
oci_load_rule = _oci_load_rule
oci_push_rule = _oci_push_rule

# Attributes every macro passes on to each target it defines.
_COMMON = ["compatible_with", "tags", "target_compatible_with", "testonly", "visibility"]

def _common(kwargs):
    return {k: v for k, v in kwargs.items() if k in _COMMON}

def _as_file(name, kind, value, common):
    """value itself if a label, else a file written from the dict or list."""
    if type(value) == "dict":
        lines = ["{}={}".format(k, v) for k, v in value.items()]
    elif type(value) == "list":
        lines = value
    else:
        return value
    label = "_{}_write_{}".format(name, kind)
    write_lines(name = label, out = "_{}.{}.txt".format(name, kind), content = lines, **common)
    return label

def oci_image(name, labels = None, env = None, entrypoint = None, exposed_ports = None, **kwargs):
    """An OCI image layout, and <name>.digest with its digest in <name>.json.sha256."""
    common = _common(kwargs)
    if type(entrypoint) == "list":
        entrypoint = [e.replace("\n", "%5Cn") for e in entrypoint]
    if type(exposed_ports) == "list":
        exposed_ports = [",".join(exposed_ports)]
    oci_image_rule(
        name = name,
        labels = _as_file(name, "labels", labels, common),
        env = _as_file(name, "env", env, common),
        entrypoint = _as_file(name, "entrypoint", entrypoint, common),
        exposed_ports = _as_file(name, "exposed_ports", exposed_ports, common),
        **kwargs
    )
    oci_digest(name = name + ".digest", image = name, out = name + ".json.sha256", **common)

def oci_image_index(name, **kwargs):
    """An OCI layout of an image index, and <name>.digest with the index's digest."""
    oci_image_index_rule(name = name, **kwargs)
    oci_digest(name = name + ".digest", image = name, out = name + ".json.sha256", **_common(kwargs))

def oci_load(name, repo_tags = None, **kwargs):
    """bazel run loads the image into Docker; output group tarball is a docker-archive."""
    oci_load_rule(name = name, repo_tags = _as_file(name, "tags", repo_tags, _common(kwargs)), **kwargs)

def oci_push(name, remote_tags = None, **kwargs):
    """bazel run pushes the image; -- --repository R and --tag T override and add."""
    oci_push_rule(name = name, remote_tags = _as_file(name, "tags", remote_tags, _common(kwargs)), **kwargs)
