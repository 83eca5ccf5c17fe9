// Tap the captcha image for a new one (the page works without this script).
document.addEventListener('click', function (event) {
  var img = event.target;
  if (img && img.classList && img.classList.contains('captcha-img')) {
    img.src = img.getAttribute('data-src') + '&r=' + Date.now();
  }
});

// An (empty) touchstart listener lets iOS show WeUI's :active styles; an ontouchstart="" attribute
// on <body> would do the same, but the Content-Security-Policy forbids inline handlers.
document.addEventListener('touchstart', function () {}, { passive: true });
