import { defineDifferentialSuite } from './suite.js';

defineDifferentialSuite('mobilenet');
