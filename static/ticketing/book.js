// Optional holder rows stay collapsed until the visitor asks for another holder.
(function () {
  var optional = document.querySelectorAll('fieldset.tk-holder[data-optional="1"]');
  if (!optional.length) return;
  optional.forEach(function (f) { f.hidden = true; });
  var add = document.createElement('button');
  add.type = 'button';
  add.className = 'secondary';
  add.textContent = optional[0].closest('form').getAttribute('data-add-holder');  // translated by the page
  add.addEventListener('click', function () {
    var next = document.querySelector('fieldset.tk-holder[hidden]');
    if (next) { next.hidden = false; next.querySelector('input').focus(); }
    if (!document.querySelector('fieldset.tk-holder[hidden]')) add.remove();
  });
  optional[0].parentNode.insertBefore(add, optional[optional.length - 1].nextSibling);
})();
