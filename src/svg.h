// Svg: a small writer of SVG documents on fmt, for `mdfetch chart` (chart.cc) and what embeds
// its charts. It knows elements, attributes, text and path data, and nothing of charts.
//
// What it guarantees: every attribute value and every text is escaped (& < > " ' become
// entities), so a symbol or a title typed by anyone cannot end an attribute or inject markup;
// numbers are written short and locale-free (at most two decimals, no exponent, never "-0",
// NaN and infinities as 0); every element opened is closed, in order, by Finish(). The output
// is one self-contained document: no script, no external file or font. Not thread-safe; one
// Writer per document.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace mdfetch::svg {

// `v` rounded to two decimals, shortest form: 3 -> "3", 2.5 -> "2.5", 1.005 -> "1" or "1.01"
// (binary rounding), -0.001 -> "0", 1234567.891 -> "1234567.89". NaN and infinities: "0".
std::string Num(double v);
// Appends Num(v) to `out` (the path builder's inner loop).
void AppendNum(std::string& out, double v);

// `text` with & < > " ' replaced by &amp; &lt; &gt; &quot; &#39;: safe in text and in
// attribute values. Bytes that are not allowed in XML 1.0 (control characters but tab, LF,
// CR) become U+FFFD; other bytes pass unchanged.
std::string Escape(std::string_view text);

// One attribute: a name (ours, never escaped) and a value, escaped when written. Numbers are
// formatted by Num.
struct Attr {
  Attr(std::string_view n, std::string_view v) : name(n), value(v) {}
  Attr(std::string_view n, const char* v) : name(n), value(v) {}
  Attr(std::string_view n, const std::string& v) : name(n), value(v) {}
  Attr(std::string_view n, double v) : name(n), value(Num(v)) {}
  Attr(std::string_view n, int v) : name(n), value(std::to_string(v)) {}
  std::string_view name;
  std::string value;
};
using Attrs = std::initializer_list<Attr>;

// Path data ("M10 20L30 40Z"), built with absolute commands.
class PathBuilder {
 public:
  PathBuilder& MoveTo(double x, double y);
  PathBuilder& LineTo(double x, double y);
  PathBuilder& HorizontalTo(double x);
  PathBuilder& VerticalTo(double y);
  PathBuilder& Close();
  bool empty() const { return d_.empty(); }
  const std::string& str() const { return d_; }
  void Reserve(size_t bytes) { d_.reserve(bytes); }

 private:
  std::string d_;
};

class Writer {
 public:
  // Starts the document: <svg xmlns=... width height viewBox="0 0 W H" ...extra>.
  Writer(int width, int height, Attrs extra = {});

  // <tag attrs>, closed by the matching Close().
  void Open(std::string_view tag, Attrs attrs = {});
  void Close();
  // <tag attrs/>.
  void Element(std::string_view tag, Attrs attrs = {});
  // <tag attrs>escaped text</tag>.
  void Text(std::string_view tag, Attrs attrs, std::string_view text);
  // <path d="..." attrs/>; nothing when the path is empty.
  void Path(const PathBuilder& path, Attrs attrs = {});

  // Closes every element still open and the document; returns it. Call once.
  std::string Finish();

 private:
  void Start(std::string_view tag, Attrs attrs);

  std::string out_;
  std::vector<std::string> open_;
};

}  // namespace mdfetch::svg
