// The batch report (docs/BATCH.md): report.json, report.csv and
// report.html, written when a batch ends.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "batch_parts.hpp"
#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"

namespace medimg {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string dims(const json& geometry, const char* key) {
  if (!geometry.is_object() || !geometry.contains(key)) return "";
  std::ostringstream s;
  const json& v = geometry[key];
  for (std::size_t a = 0; a < v.size(); ++a) {
    s << (a ? "x" : "");
    if (v[a].is_number_integer()) {
      s << v[a].get<std::int64_t>();
    } else {
      s << std::setprecision(4) << v[a].get<double>();
    }
  }
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  AtomicOutput output(path.string());
  {
    std::ofstream file(output.temporary_path(), std::ios::binary);
    file << text;
    if (!file.flush()) throw Error("cannot write '" + path.string() + "'");
  }
  output.commit();
}

}  // namespace

void batch_detail::write_reports(const fs::path& dir, const json& report,
                                 const std::vector<std::string>& ops) {
  write_text(dir / "report.json", report.dump(2) + "\n");
  std::ostringstream csv;
  csv << "row,input,output,status,step,message,rank,input_size,input_spacing,output_size,"
         "output_spacing,read_ms";
  for (std::size_t s = 0; s < ops.size(); ++s) csv << "," << s + 1 << "_" << ops[s] << "_ms";
  csv << ",write_ms\n";
  const auto number = [](const json& ms, const char* key) -> std::string {
    if (!ms.is_object() || !ms.contains(key)) return "";
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << ms[key].get<double>();
    return s.str();
  };
  for (const json& row : report["items"]) {
    const json ms = row.value("ms", json::object());
    csv << row["row"].get<std::size_t>() << "," << csv_escape(row["input"]) << ","
        << csv_escape(row["output"]) << "," << row["status"].get<std::string>() << ","
        << csv_escape(row.value("step", "")) << "," << csv_escape(row.value("message", "")) << ","
        << row["rank"].get<int>() << "," << dims(row.value("input_geometry", json()), "size") << ","
        << dims(row.value("input_geometry", json()), "spacing") << ","
        << dims(row.value("output_geometry", json()), "size") << ","
        << dims(row.value("output_geometry", json()), "spacing") << "," << number(ms, "read");
    const json steps = ms.value("steps", json::array());
    for (std::size_t s = 0; s < ops.size(); ++s) {
      csv << ",";
      if (s < steps.size()) csv << std::fixed << std::setprecision(1) << steps[s].get<double>();
    }
    csv << "," << number(ms, "write") << "\n";
  }
  write_text(dir / "report.csv", csv.str());

  std::ostringstream html;
  const json& s = report["summary"];
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>medimg batch report"
          "</title>\n<style>body{font-family:sans-serif;margin:1.5em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
          "vertical-align:top;font-size:13px}tr.failed{background:#fdd}tr.skipped{"
          "background:#eef}img{display:block;max-width:420px}</style></head><body>\n"
       << "<h1>medimg batch</h1>\n<p>pipeline <code>" << html_escape(report["pipeline"])
       << "</code>, manifest <code>" << html_escape(report["manifest"]) << "</code>: " << s["done"]
       << " done, " << s["failed"] << " failed, " << s["skipped"] << " skipped of " << s["total"]
       << " in " << std::fixed << std::setprecision(1) << report["seconds"].get<double>()
       << " s on " << report["ranks"]
       << " rank(s). Pictures: axial | coronal | sagittal, radiological convention.</p>\n"
       << "<table><tr><th>#</th><th>input</th><th>output</th><th>status</th>"
          "<th>input grid</th><th>output grid</th><th>ms</th><th>before</th><th>after</th></tr>\n";
  for (const json& row : report["items"]) {
    const std::string status = row["status"];
    const json ms = row.value("ms", json::object());
    double total_ms = 0.0;
    for (const auto& step : ms.value("steps", json::array())) total_ms += step.get<double>();
    html << "<tr class=\"" << status << "\"><td>" << row["row"] << "</td><td>"
         << html_escape(row["input"]) << "</td><td>" << html_escape(row["output"]) << "</td><td>"
         << status;
    if (row.contains("message")) {
      html << "<br>" << html_escape(row.value("step", "")) << ": " << html_escape(row["message"]);
    }
    html << "</td><td>" << dims(row.value("input_geometry", json()), "size") << "<br>"
         << dims(row.value("input_geometry", json()), "spacing") << " mm</td><td>"
         << dims(row.value("output_geometry", json()), "size") << "<br>"
         << dims(row.value("output_geometry", json()), "spacing") << " mm</td><td>"
         << std::setprecision(0) << total_ms << "</td>";
    if (row.contains("previews")) {
      html << "<td><img src=\"" << html_escape(row["previews"][0]) << "\"></td><td><img src=\""
           << html_escape(row["previews"][1]) << "\"></td>";
    } else {
      html << "<td></td><td></td>";
    }
    html << "</tr>\n";
  }
  html << "</table></body></html>\n";
  write_text(dir / "report.html", html.str());
}

}  // namespace medimg
