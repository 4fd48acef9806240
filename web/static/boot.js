// Loads the Safebox web app. Trunk writes the hashed names of the JS glue
// and the WASM module into this script's data attributes (see Trunk.toml),
// so the page needs no inline script.
'use strict';

(function boot() {
  const script = document.currentScript;
  const showError = () => {
    const message = document.getElementById('boot-error');
    if (message) {
      message.hidden = false;
    }
  };

  if (!script || !script.dataset.js || !script.dataset.wasm) {
    showError();
    return;
  }

  import(script.dataset.js)
    .then((bindings) => bindings.default({ module_or_path: script.dataset.wasm }))
    .catch(showError);
})();
