// The "打印" button of printable pages (no inline handlers: the Content-Security-Policy forbids them).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) window.print();
});
