"""proto_common with the one field rules_go reads.

protoc is found the legacy way (--proto_compiler, which defaults to this
module's //:protoc), not through proto toolchain resolution.
"""

proto_common = struct(
    INCOMPATIBLE_ENABLE_PROTO_TOOLCHAIN_RESOLUTION = False,
)
