// Image references: the spellings COCO_IMAGE accepts, parsed without touching disk or network.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace coco::image {

enum class SourceKind {
  Registry,       // [docker://]REGISTRY/REPO[:TAG|@sha256:HEX], short names -> docker.io
  OciDir,         // oci:DIR[:REF]
  OciArchive,     // oci-archive:FILE[:REF]
  DockerArchive,  // docker-archive:FILE (podman save / docker save)
  RootfsDir,      // rootfs:DIR
  RootfsTar,      // rootfs:FILE.tar[.gz|.tgz|.zst|.xz]
  Bootstrap,      // bootstrap:debian:SUITE (mmdebstrap). Not `debian:SUITE`: that is
                  // the short registry name docker.io/library/debian:TAG.
};

struct Reference {
  SourceKind kind = SourceKind::Registry;
  std::string original;    // as given
  // Registry references.
  std::string registry;    // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/debian"
  std::string tag;         // "latest" when neither tag nor digest was given
  std::string digest;      // "sha256:<64 hex>" or empty
  // Local sources: the path as given, and oci's REF (empty = the only manifest).
  std::string path;
  std::string ociRef;
  // Bootstrap.
  std::string distro;      // "debian"
  std::string suite;       // "trixie"

  // "docker.io/library/debian:trixie-slim", "...@sha256:...", "oci:/dir:ref", ...
  std::string canonical() const;
  // The host the distribution API is served from (docker.io's differs from its name).
  std::string apiHost() const;
  // The tag, or the digest when pinned: what goes after /manifests/.
  std::string manifestRef() const { return digest.empty() ? tag : digest; }
};

Result<Reference> parseReference(std::string_view text);

// A tag as registries take it: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'.
bool isValidTag(std::string_view tag);

// True for "sha256:" followed by 64 lowercase hex digits.
bool isSha256Digest(std::string_view digest);

}  // namespace coco::image
