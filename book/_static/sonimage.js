// The book's own script (linked on every page by Jupyter Book from <source>/_static).
// Table cells of notebook outputs: a number never breaks, and an estimate with its interval,
// "17.0 (14.2 to 27.9)", breaks only between the estimate and the interval; a long text cell wraps freely.
// CSS alone cannot tell these apart.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("div.cell_output div.output.text_html td").forEach(function (cell) {
    var text = cell.textContent.trim();
    if (text.length > 40 || cell.children.length > 0) {
      return;
    }
    var parts = /^([<>=\u2264\u2265+\-\u2212]?\d[\d.,]*%?) (\(.+\))$/.exec(text);
    if (!parts) {
      if (text.length <= 16) {
        cell.classList.add("sonimage-short");
      }
      return;
    }
    cell.textContent = "";
    [parts[1], parts[2]].forEach(function (piece, k) {
      var span = document.createElement("span");
      span.className = "sonimage-nowrap";
      span.textContent = piece;
      if (k > 0) {
        cell.appendChild(document.createTextNode(" "));
      }
      cell.appendChild(span);
    });
  });
});
