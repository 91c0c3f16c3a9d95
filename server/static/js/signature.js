// Signature boxes for the window's tablet: draw with a finger, stylus or mouse; the drawing is put in
// a hidden field as a PNG data URL when the form is sent.  Markup:
//   <div class="sigbox" data-field="signature"><canvas></canvas><button type="button" data-clear>…</button></div>
//   <input type="hidden" name="signature">
function setUp(box) {
  const canvas = box.querySelector("canvas");
  const field = box.closest("form").querySelector(`input[name="${box.dataset.field}"]`);
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let drawn = false;

  function fit() {
    const ratio = window.devicePixelRatio || 1;
    const rect = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.2;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, rect.width, rect.height);
    drawn = false;
    field.value = "";
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = point(event);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y + 0.1);
    ctx.stroke();
    drawn = true;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = point(event);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  const stop = () => {
    if (drawing && drawn) field.value = canvas.toDataURL("image/png");
    drawing = false;
  };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  box.querySelector("[data-clear]").addEventListener("click", fit);
  fit();
}

document.querySelectorAll(".sigbox").forEach(setUp);
