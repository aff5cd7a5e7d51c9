// A small checker of the XML our SVG writer makes, for the tests: tags balance and nest, every
// '<' opens a tag, every '&' starts an entity, attribute values are quoted. Not a full XML
// parser (no DTD, CDATA or processing instructions but the XML declaration).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mdfetch::test {

// The number of elements named `tag` in `doc` with `class` exactly `cls` among its classes
// (a space-separated list), e.g. Count(doc, "path", "candle").
inline size_t CountClass(std::string_view doc, std::string_view tag, std::string_view cls) {
  size_t n = 0;
  const std::string open = "<" + std::string(tag) + " ";
  for (size_t at = doc.find(open); at != std::string_view::npos; at = doc.find(open, at + 1)) {
    const size_t end = doc.find('>', at);
    const std::string_view element = doc.substr(at, end - at);
    const size_t c = element.find(" class=\"");
    if (c == std::string_view::npos) continue;
    const size_t from = c + 8, to = element.find('"', from);
    std::string_view classes = element.substr(from, to - from);
    while (!classes.empty()) {
      const size_t space = classes.find(' ');
      if (classes.substr(0, space) == cls) {
        ++n;
        break;
      }
      if (space == std::string_view::npos) break;
      classes.remove_prefix(space + 1);
    }
  }
  return n;
}

inline bool WellFormed(std::string_view doc) {
  std::vector<std::string_view> open;
  size_t i = 0;
  if (doc.starts_with("<?xml")) {
    i = doc.find("?>");
    if (i == std::string_view::npos) return false;
    i += 2;
  }
  bool root_seen = false;
  while (i < doc.size()) {
    const char c = doc[i];
    if (c == '&') {
      const size_t semi = doc.find(';', i);
      if (semi == std::string_view::npos) return false;
      const std::string_view entity = doc.substr(i, semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" &&
          entity != "&#39;") {
        return false;
      }
      i = semi + 1;
      continue;
    }
    if (c == '>') return false;
    if (c != '<') {
      ++i;
      continue;
    }
    const size_t end = doc.find('>', i);
    if (end == std::string_view::npos) return false;
    std::string_view tag = doc.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.find('<') != std::string_view::npos) return false;
    // Quotes balance inside a tag; a '>' inside a quoted value would have ended it early.
    size_t quotes = 0;
    for (char t : tag) quotes += t == '"' ? 1 : 0;
    if (quotes % 2 != 0) return false;
    if (tag.starts_with('/')) {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
      continue;
    }
    const bool empty = tag.ends_with('/');
    const std::string_view name = tag.substr(0, tag.find_first_of(" /"));
    if (name.empty()) return false;
    if (open.empty() && root_seen) return false;  // one root element
    root_seen = true;
    if (!empty) open.push_back(name);
  }
  return root_seen && open.empty();
}

}  // namespace mdfetch::test
