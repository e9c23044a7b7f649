import { defineDifferentialSuite } from './suite.js';

defineDifferentialSuite('bert');
