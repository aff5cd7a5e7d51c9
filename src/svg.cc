#include "svg.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace mdfetch::svg {

void AppendNum(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += '0';
    return;
  }
  // Integers in hundredths: exact, and no exponent whatever the magnitude of a coordinate.
  const double hundredths = std::round(v * 100);
  if (hundredths == 0 || std::fabs(hundredths) >= 9e15) {
    out += hundredths == 0 ? "0" : fmt::format("{:.0f}", v);
    return;
  }
  const auto n = static_cast<long long>(hundredths);
  const unsigned long long magnitude =
      n < 0 ? 0ULL - static_cast<unsigned long long>(n) : static_cast<unsigned long long>(n);
  if (n < 0) out += '-';
  fmt::format_to(std::back_inserter(out), "{}", magnitude / 100);
  const auto fraction = static_cast<unsigned>(magnitude % 100);
  if (fraction == 0) return;
  out += '.';
  out += static_cast<char>('0' + fraction / 10);
  if (fraction % 10 != 0) out += static_cast<char>('0' + fraction % 10);
}

std::string Num(double v) {
  std::string out;
  AppendNum(out, v);
  return out;
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xEF\xBF\xBD";  // XML 1.0 has no way to write these
        } else {
          out += c;
        }
    }
  }
  return out;
}

PathBuilder& PathBuilder::MoveTo(double x, double y) {
  d_ += 'M';
  AppendNum(d_, x);
  d_ += ' ';
  AppendNum(d_, y);
  return *this;
}

PathBuilder& PathBuilder::LineTo(double x, double y) {
  d_ += 'L';
  AppendNum(d_, x);
  d_ += ' ';
  AppendNum(d_, y);
  return *this;
}

PathBuilder& PathBuilder::HorizontalTo(double x) {
  d_ += 'H';
  AppendNum(d_, x);
  return *this;
}

PathBuilder& PathBuilder::VerticalTo(double y) {
  d_ += 'V';
  AppendNum(d_, y);
  return *this;
}

PathBuilder& PathBuilder::Close() {
  d_ += 'Z';
  return *this;
}

Writer::Writer(int width, int height, Attrs extra) {
  out_ = R"(<?xml version="1.0" encoding="UTF-8"?>)"
         "\n";
  Start("svg", {{"xmlns", "http://www.w3.org/2000/svg"},
                {"width", width},
                {"height", height},
                {"viewBox", fmt::format("0 0 {} {}", width, height)}});
  out_.pop_back();  // the '>' Start wrote: the extra attributes go before it
  for (const Attr& a : extra) {
    fmt::format_to(std::back_inserter(out_), " {}=\"{}\"", a.name, Escape(a.value));
  }
  out_ += ">\n";
  open_.emplace_back("svg");
}

void Writer::Start(std::string_view tag, Attrs attrs) {
  out_ += '<';
  out_ += tag;
  for (const Attr& a : attrs) {
    out_ += ' ';
    out_ += a.name;
    out_ += "=\"";
    out_ += Escape(a.value);
    out_ += '"';
  }
  out_ += '>';
}

void Writer::Open(std::string_view tag, Attrs attrs) {
  Start(tag, attrs);
  out_ += '\n';
  open_.emplace_back(tag);
}

void Writer::Close() {
  if (open_.empty()) return;
  fmt::format_to(std::back_inserter(out_), "</{}>\n", open_.back());
  open_.pop_back();
}

void Writer::Element(std::string_view tag, Attrs attrs) {
  Start(tag, attrs);
  out_.back() = '/';
  out_ += ">\n";
}

void Writer::Text(std::string_view tag, Attrs attrs, std::string_view text) {
  Start(tag, attrs);
  out_ += Escape(text);
  fmt::format_to(std::back_inserter(out_), "</{}>\n", tag);
}

void Writer::Path(const PathBuilder& path, Attrs attrs) {
  if (path.empty()) return;
  out_ += "<path d=\"";
  out_ += path.str();  // numbers and command letters only: nothing to escape
  out_ += '"';
  for (const Attr& a : attrs) {
    fmt::format_to(std::back_inserter(out_), " {}=\"{}\"", a.name, Escape(a.value));
  }
  out_ += "/>\n";
}

std::string Writer::Finish() {
  while (!open_.empty()) Close();
  return std::move(out_);
}

}  // namespace mdfetch::svg
