// Upload progress: htmx reports the browser's upload progress; show it on the form's <progress>.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest("[data-upload-form]");
  if (!form || !event.detail.lengthComputable) return;
  var bar = form.querySelector("progress");
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.target.closest && event.target.closest("[data-upload-form]");
  if (form) form.querySelector("progress").hidden = true;
});
