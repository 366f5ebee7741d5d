// The studio: choosing a saved reply fills the answer (the clinician edits it before sending).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-fill-target]");
  if (!select || !select.value) return;
  const target = document.getElementById(select.dataset.fillTarget);
  if (target) {
    target.value = select.value;
    target.focus();
  }
});
