// Apt source lists: the http(s) URIs of one-line and deb822 files, and the Debian mirror a bootstrap uses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace coco::image {

// The http(s) URIs of apt sources: one-line "deb [opts] URI SUITE..." (and
// deb-src; options may hold several words) and deb822 "URIs:" (stanzas with
// "Enabled: no" skipped).
std::vector<std::string> aptUrisFromList(std::string_view text);
std::vector<std::string> aptUrisFromDeb822(std::string_view text);

// Whether apt reads a file of sources.list.d: "*.list" (one-line) and "*.sources" (deb822).
bool isAptSourcesFile(std::string_view name);
// The URIs of such a file, parsed by the format its name says; none for other names.
std::vector<std::string> aptUrisOfFile(std::string_view name, std::string_view text);

// "deb URI SUITE main" for mmdebstrap from the apt sources under `aptDir`
// (sources.list, then sources.list.d in name order): the first Debian URI
// ("/debian" in it) that is not a security mirror.
Result<std::string> hostAptSource(const std::string& suite, const std::string& aptDir = "/etc/apt");

}  // namespace coco::image
